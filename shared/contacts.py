"""The record on the compacted `members.contacts` topic: a member's contact details, keyed by member id.

The only place personal data travels between services. A null value (tombstone) means: forget this
person; compaction then removes every earlier record of that key.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ContactRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    member_id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    organisation_id: uuid.UUID
    newsletter_consent: bool
    active: bool
    updated_at: datetime
