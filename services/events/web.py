"""What the events service's route modules share: the unit of work for each group of roles that may
give commands, and the reader dependencies. Routes depend on this module, never on each other."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import ACTIVITY_WRITERS, READERS, STAFF, Principal, require
from shared.uow import UnitOfWork, unit_of_work

CONFLICT = "this conflicts with an existing record (the same member registered twice?)"

# staff, admin and Mediawijs (partner; the handlers keep it to the activities it leads or co-leads)
WriterWork = Annotated[UnitOfWork, Depends(unit_of_work(*ACTIVITY_WRITERS, conflict=CONFLICT))]
StaffWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF, conflict=CONFLICT))]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]
