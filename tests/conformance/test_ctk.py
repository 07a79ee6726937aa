"""The official TM Forum CTKs openbss claims, each against a fresh database: zero failed assertions."""

import pytest

from tests.conformance.ctk import CLAIMED, SEEDS, live_api, run_kit


@pytest.mark.parametrize("api", CLAIMED)
def test_ctk_passes_with_zero_failures(engine, api):
    with live_api(engine) as server:
        if api in SEEDS:
            SEEDS[api](engine)
        result = run_kit(api, server.port)
    assert result.requests > 0 and result.assertions > 0, result
    assert result.failed == 0, "\n".join(result.failures)
