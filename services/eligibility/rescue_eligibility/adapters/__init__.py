"""How eligibility stores its records and reads its protocol files (the domain knows neither)."""
