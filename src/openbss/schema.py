"""Import every tables module so the shared MetaData knows the whole schema (for Alembic)."""

from openbss.api import tables as _api  # noqa: F401
from openbss.audit import tables as _audit  # noqa: F401
from openbss.auth import tables as _auth  # noqa: F401
from openbss.billing import delivery_tables as _billing_delivery  # noqa: F401
from openbss.billing import request_tables as _billing_requests  # noqa: F401
from openbss.billing import tables as _billing  # noqa: F401
from openbss.catalog import tables as _catalog  # noqa: F401
from openbss.charging import tables as _charging  # noqa: F401
from openbss.db import numbering as _numbering  # noqa: F401
from openbss.db.metadata import metadata
from openbss.dunning import tables as _dunning  # noqa: F401
from openbss.events import tables as _events  # noqa: F401
from openbss.ledger import tables as _ledger  # noqa: F401
from openbss.mediation import tables as _mediation  # noqa: F401
from openbss.mediation.collectors import tables as _collectors  # noqa: F401
from openbss.ordering import tables as _ordering  # noqa: F401
from openbss.party import tables as _party  # noqa: F401
from openbss.payments import tables as _payments  # noqa: F401
from openbss.rating import tables as _rating  # noqa: F401
from openbss.reconciliation import tables as _reconciliation  # noqa: F401
from openbss.seller import tables as _seller  # noqa: F401

__all__ = ["metadata"]
