"""Request bodies of the randomization API (the responses are `service_layer/views.py`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from rescue_randomization.domain.schemes import SchemeConfig
from rescue_randomization.domain.strata import StrataConfig

SubjectId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description=(
    "Site pseudonym of the subject (letters, digits, '.', '_', '-'); never a direct identifier."
))]


class RandomizationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: SubjectId
    consent_confirmed: StrictBool = Field(
        description="The investigator confirms the subject's written informed consent (false "
                    "is refused with 422).",
        json_schema_extra={"const": True})
    planned_maintenance: str | None = Field(
        None, max_length=50,
        description="Planned maintenance therapy (a stratification factor): parp_inhibitor, "
                    "bevacizumab or none.")


class InvalidationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="Why the allocation was made in error "
                                                     "(at least three words of two or more "
                                                     "letters).")


class ConfigurationRequest(BaseModel):
    """A new scheme (and optionally strata) before the first allocation."""

    model_config = ConfigDict(extra="forbid")

    scheme: SchemeConfig
    strata: StrataConfig | None = None
