"""UUIDv7 ids (RFC 9562): version and variant bits, the clock's milliseconds, creation order within a process."""

import threading
import time
import uuid

from openbss.core.ids import new_id


def test_ids_are_version_7_rfc_variant_and_carry_the_clock():
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(100_000)]
    after = time.time_ns() // 1_000_000
    assert {i.version for i in ids} == {7} and {i.variant for i in ids} == {uuid.RFC_4122}
    # the timestamp is the clock's, not pushed ahead by the number of ids made
    assert before <= ids[0].int >> 80 and ids[-1].int >> 80 <= after + 1


def test_ids_sort_in_the_order_they_were_made_and_never_repeat_across_threads():
    ids = [new_id() for _ in range(50_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]
    threads = [threading.Thread(target=lambda out: out.extend(new_id() for _ in range(20_000)), args=(m,))
               for m in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for m in made for i in m]
    assert len(set(everything)) == 80_000 and all(m == sorted(m) for m in made)
