"""Storage: async engines from DATABASE_URL, platform tables, units of work, migrations."""
