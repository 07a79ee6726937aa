"""Writes sample.ber: PGW-CDRs (3GPP TS 32.298, BER) encoded with asn1tools from the collector's schema.

No public PGW-CDR file with a licence allowing its use in tests was found, so this sample is generated.
Because it comes from the same schema the collector decodes with, the tests also pin a record written
by hand, octet by octet (tests/unit/test_collectors_ber.py, HAND_WRITTEN), against the standard's tags.

Run from the repository root: .venv/bin/python tests/data/cdr/pgw/make_sample.py
The records (all times are the node's local time with its UTC offset):
1. +4915100000001, chargingID 1001, partial record 1 (LSN 501), opened 2026-09-30 23:50:00 +02:00,
   service data: rating group 10 up 1000 down 20000, rating group 20 up 500 down 3000
2. the same session, partial record 2 (LSN 502), opened 2026-10-01 00:50:00 +02:00,
   service data: rating group 10 up 2000 down 50000
3. national number 015100000002, gateway named by nodeID "PGW-FRA-01" only, chargingID 2002, not
   partial, LSN 503, opened 2026-10-01 06:15:30 -05:00, traffic volumes 100/200 and 300/400
4. +4915100000003, chargingID 3003, LSN 504, opened 2026-10-01 07:00:00 +00:00, service data with
   no volume at all
"""

from __future__ import annotations

from pathlib import Path

import asn1tools

HERE = Path(__file__).parent
SCHEMA = HERE.parents[3] / "src" / "openbss" / "mediation" / "collectors" / "pgw_cdr.asn"
SAMPLE = HERE / "sample.ber"
PGW_ADDRESS = ("iPBinaryAddress", ("iPBinV4Address", bytes([192, 0, 2, 10])))  # 192.0.2.10 (TEST-NET-1)
SGW_ADDRESS = ("iPBinaryAddress", ("iPBinV4Address", bytes([198, 51, 100, 7])))


def tbcd(digits: str) -> bytes:
    """Two digits an octet, the first in the low nibble, F filling an odd count."""
    nibbles = [int(d) for d in digits] + ([0xF] if len(digits) % 2 else [])
    return bytes(low | high << 4 for low, high in zip(nibbles[::2], nibbles[1::2], strict=True))


def msisdn(digits: str, international: bool = True) -> bytes:
    return bytes([0x91 if international else 0xA1]) + tbcd(digits)  # 0xA1: national number, E.164 plan


def stamp(local: str, offset: str) -> bytes:
    """TimeStamp: "YYMMDDhhmmss" and "+hhmm" as 6 BCD octets, the sign in ASCII, 2 BCD octets."""
    return bytes.fromhex(local) + offset[0].encode() + bytes.fromhex(offset[1:])


def service(rating_group: int, up: int, down: int, first: bytes) -> dict:
    return {"ratingGroup": rating_group, "datavolumeFBCUplink": up, "datavolumeFBCDownlink": down,
            "timeOfFirstUsage": first, "timeOfLastUsage": first, "timeOfReport": first,
            "serviceConditionChange": (b"\x00\x80\x00\x00", 32)}  # bit 8: configurationChange


def pgw(charging_id: int, lsn: int, opened: bytes, **fields) -> tuple[str, dict]:
    record = {"recordType": 85, "servedIMSI": tbcd("262011234567890"), "chargingID": charging_id,
              "servingNodeAddress": [SGW_ADDRESS], "accessPointNameNI": "internet", "recordOpeningTime": opened,
              "duration": 3600, "causeForRecClosing": 0, "localSequenceNumber": lsn, **fields}
    return "pGWRecord", record


def records() -> list[tuple[str, dict]]:
    first, second = stamp("260930235000", "+0200"), stamp("261001005000", "+0200")
    return [
        pgw(1001, 501, first, **{"p-GWAddress": PGW_ADDRESS}, recordSequenceNumber=1, causeForRecClosing=17,
            servedMSISDN=msisdn("4915100000001"),
            listOfServiceData=[service(10, 1000, 20000, first), service(20, 500, 3000, first)]),
        pgw(1001, 502, second, **{"p-GWAddress": PGW_ADDRESS}, recordSequenceNumber=2,
            servedMSISDN=msisdn("4915100000001"), listOfServiceData=[service(10, 2000, 50000, second)]),
        pgw(2002, 503, stamp("261001061530", "-0500"), nodeID="PGW-FRA-01",
            servedMSISDN=msisdn("015100000002", international=False),
            listOfTrafficVolumes=[
                {"dataVolumeGPRSUplink": 100, "dataVolumeGPRSDownlink": 200, "changeCondition": 0},
                {"dataVolumeGPRSUplink": 300, "dataVolumeGPRSDownlink": 400, "changeCondition": 2},
            ]),
        pgw(3003, 504, stamp("261001070000", "+0000"), **{"p-GWAddress": PGW_ADDRESS},
            servedMSISDN=msisdn("4915100000003"), listOfServiceData=[service(10, 0, 0, stamp("261001070000", "+0000"))]),
    ]


def sample() -> bytes:
    spec = asn1tools.compile_files(str(SCHEMA), "ber")
    return b"".join(spec.encode("GPRSRecord", record) for record in records())


if __name__ == "__main__":
    SAMPLE.write_bytes(sample())
    print(f"wrote {SAMPLE} ({SAMPLE.stat().st_size} octets)")
