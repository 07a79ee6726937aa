"""SEPA Direct Debit: export the collections due as a pain.008 file (sepaxml), import the bank's pain.002 rejects.

Export: for each account whose preferred method is an active SEPA mandate, the open bills due on or before the
date are collected in one debit per account (what disputes hold back is left out, as `open_invoices` does). Each
debit is a payment "pending" and in transit (IN_TRANSIT / AR), allocated to exactly those bills, named in the file
by EndToEndId = the payment id's 32 hex digits. The sequence is FRST for a mandate's first collection (also when
its first was returned) and RCUR after. The file is validated against the pain.008.001.08 XSD sepaxml ships; the
batch (with the XML as exported) is stored. A bill collected is no longer open, so the same run again finds
nothing new; a bill whose debit is returned reopens and is collected again by a later run (a re-presentation),
unless the return says the mandate is unusable (MANDATE_CODES), which deactivates it.

Returns: a pain.002 status report's rejected transactions (TxSts RJCT, or a whole group or payment block
rejected) mark their payments "returned" with the reason code, reopen the bills and reverse the entry
(AR / IN_TRANSIT). The same file twice changes nothing. A file that is not XML, is no pain.002, or names a
collection we never sent is refused whole, with the line and the reason.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import sepaxml
import sqlalchemy as sa
from lxml import etree

from openbss.billing import receivables
from openbss.billing import service as billing
from openbss.core.errors import InvalidValue
from openbss.core.ids import new_id
from openbss.core.money import Money, total
from openbss.db.uow import UnitOfWork
from openbss.party import service as party
from openbss.payments import method_service, refunds, service
from openbss.payments.methods import PaymentMethod, check_bic, check_iban
from openbss.payments.model import STATUS_DONE, STATUS_PENDING, STATUS_RETURNED, Payment
from openbss.payments.tables import payment, sepa_batch
from openbss.seller import service as seller_service

SCHEMA = "pain.008.001.08"
XSD = Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"
# Reject reasons (EPC/ISO 20022 ExternalStatusReason1Code) after which the mandate cannot be used again.
MANDATE_CODES = {"MD01": "no valid mandate", "AC04": "account closed", "AC06": "account blocked",
                 "MD07": "debtor deceased", "AC01": "incorrect account number", "AC13": "debtor account is a consumer "
                 "account (B2B mandate)", "BE05": "creditor unknown to the debtor"}
REASONS = {"AM04": "insufficient funds", "MS02": "refused by the debtor", "MS03": "reason not specified",
           "AM05": "duplicate collection", "SL01": "specific service offered by the debtor agent",
           "MD06": "refund request by the debtor", "AG01": "transaction forbidden on this account",
           "RR01": "debtor identification missing", "FF01": "invalid file format", **MANDATE_CODES}


MESSAGE_ID_PREFIX = "OBSS-"
# A batch's message id; the collections in it have end-to-end ids "<message id>-<n>", which are not the batch.
MESSAGE_ID = re.compile(rf"\b{MESSAGE_ID_PREFIX}[0-9A-F]{{24}}\b(?!-\d)")

@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class SepaBatch:
    id: uuid.UUID
    message_id: str
    due_by: date
    collection_date: date
    count: int
    total: Money
    document: str
    payments: tuple[Payment, ...]


def check_creditor_id(value: str, field: str = "creditorId") -> str:
    """A SEPA creditor identifier: country, 2 check digits (ISO 7064 MOD 97-10 over the national part and the
    country, as an IBAN's), a 3-character business code and the national identifier, e.g. DE98ZZZ09999999999."""
    ci = (value or "").replace(" ", "").upper()
    if not (8 <= len(ci) <= 35 and ci[:2].isalpha() and ci[2:4].isdigit() and ci.isalnum()):
        raise InvalidValue(field, value, "is not a SEPA creditor identifier (e.g. DE98ZZZ09999999999)")
    if int("".join(str(int(c, 36)) for c in ci[7:] + ci[:4])) % 97 != 1:
        raise InvalidValue(field, value, "has wrong check digits")
    return ci


def creditor(uow: UnitOfWork, creditor_id: str) -> Creditor:
    """The operator as creditor: the seller profile's name and bank account, and the SEPA creditor identifier."""
    seller = seller_service.get_seller(uow)
    if not seller.iban or not seller.bic:
        raise InvalidValue("seller.iban", seller.iban, "and seller.bic are needed to collect by direct debit: "
                           "openbss seller set --iban ... --bic ...")
    return Creditor(seller.name, check_iban(seller.iban, "seller.iban"), check_bic(seller.bic, "seller.bic"),
                    check_creditor_id(creditor_id))


def export(uow: UnitOfWork, due_by: date, cred: Creditor, collection_date: date | None = None) -> SepaBatch | None:
    """Collect every bill due by `due_by` from accounts paying by SEPA mandate; None when nothing new is due."""
    today = uow.now().date()
    collect_on = collection_date or max(due_by, today + timedelta(days=1))
    if collect_on <= today:
        raise InvalidValue("collectionDate", collect_on.isoformat(), "must be after today: banks need a day (D-1)")
    mandates = method_service.preferred_methods(uow, "directDebit")
    due = receivables.accounts_with_bills_due(uow, due_by)
    batch_id = new_id()
    message_id = f"{MESSAGE_ID_PREFIX}{batch_id.hex[:24].upper()}"
    planned: list[tuple[PaymentMethod, Money, list[uuid.UUID], str, uuid.UUID, str, str]] = []
    for account_id in sorted(set(due) & set(mandates)):
        uow.advisory_lock("account", account_id)  # held to the end: the amounts read stay true until recorded
        bills = [b for b in billing.open_invoices(uow, account_id) if b.id in due[account_id] and b.remaining.amount]
        if not bills or bills[0].remaining.currency != "EUR":
            continue  # SEPA collects euros only
        m = mandates[account_id]
        amount = total((b.remaining for b in bills), "EUR").rounded()  # stored bills carry 6 places
        sequence = "RCUR" if _collected_before(uow, m.id) else "FRST"
        holder = party.get_billing_account(uow, account_id)
        debtor = m.details.get("owner") or holder.customer_name or holder.name
        planned.append((m, amount, [b.id for b in bills], sequence, new_id(),
                        ", ".join(b.number for b in bills)[:140], debtor))
    if not planned:
        return None
    document = _pain008(cred, message_id, collect_on, uow.now(), [
        {"name": debtor, "IBAN": m.details["accountNumber"], "BIC": m.details["BIC"],
         "amount": int(amount.amount * 100), "type": sequence, "collection_date": collect_on,
         "mandate_id": m.mandate_id, "mandate_date": date.fromisoformat(m.details["signatureDate"][:10]),
         "description": description, "endtoend_id": pid.hex}
        for m, amount, _, sequence, pid, description, debtor in planned
    ])
    grand = total((p[1] for p in planned), "EUR").rounded()
    uow.conn.execute(sa.insert(sepa_batch).values(
        id=batch_id, created_at=uow.now(), message_id=message_id, due_by=due_by, collection_date=collect_on,
        currency="EUR", count=len(planned), total=grand.amount, document=document,
    ))
    recorded = tuple(
        service.record_payment(
            uow, service.NewPayment(m.account_id, amount, method="directDebit", external_ref=pid.hex,
                                    payment_method_id=m.id),
            in_transit=True, status=STATUS_PENDING, gateway="sepa", sepa=(batch_id, sequence), only=bills,
            payment_id=pid,
        )
        for m, amount, bills, sequence, pid, _, _ in planned
    )
    return SepaBatch(batch_id, message_id, due_by, collect_on, len(planned), grand, document, recorded)


def _collected_before(uow: UnitOfWork, method_id: uuid.UUID) -> bool:
    """Whether the mandate has a collection that was not returned: then the next one is RCUR."""
    return uow.conn.execute(sa.select(payment.c.id).where(
        payment.c.payment_method_id == method_id, payment.c.sepa_batch_id.is_not(None),
        payment.c.status.in_((STATUS_PENDING, STATUS_DONE)),
    ).limit(1)).first() is not None


def _pain008(cred: Creditor, message_id: str, collect_on: date, now, debits: list[dict]) -> str:
    sdd = sepaxml.SepaDD({"name": cred.name, "IBAN": cred.iban, "BIC": cred.bic, "batch": True,
                          "creditor_id": cred.creditor_id, "currency": "EUR"}, schema=SCHEMA, clean=True)
    for d in debits:
        sdd.add_payment(d)
    root = etree.fromstring(sdd.export(validate=False))
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"}
    # sepaxml draws ids at random and stamps the wall clock: ours are the batch's, so the stored file is the file.
    root.find(".//p:GrpHdr/p:MsgId", ns).text = message_id
    root.find(".//p:GrpHdr/p:CreDtTm", ns).text = now.strftime("%Y-%m-%dT%H:%M:%S")
    for n, node in enumerate(root.findall(".//p:PmtInf/p:PmtInfId", ns), start=1):
        node.text = f"{message_id}-{n}"
    schema().assertValid(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@dataclass(frozen=True)
class Reject:
    end_to_end_id: str
    code: str
    line: int


@dataclass(frozen=True)
class ReturnsReport:
    returned: tuple[Payment, ...]
    already: int  # rejects of payments this or an earlier file already returned


def parse_pain002(content: bytes) -> list[Reject]:
    """The rejected collections of a pain.002 (any version): per transaction, or every transaction of a rejected
    group or payment block (their EndToEndIds are read from the batch we stored). Raises InvalidValue with the line."""
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as e:
        raise InvalidValue("file", f"line {e.lineno}", f"is not well-formed XML: {e.msg}") from None
    if not etree.QName(root).namespace or "pain.002" not in etree.QName(root).namespace:
        raise InvalidValue("file", f"line {root.sourceline}", f"is a {etree.QName(root).namespace or 'plain'} "
                           "document, not a pain.002 payment status report")

    def local(node, path):
        return node.xpath(path)

    rejects = []
    for tx in local(root, "//*[local-name()='TxInfAndSts']"):
        status = local(tx, "string(*[local-name()='TxSts'])")
        if status != "RJCT":
            continue
        e2e = local(tx, "string(*[local-name()='OrgnlEndToEndId'])").strip()
        code = local(tx, "string(*[local-name()='StsRsnInf']/*[local-name()='Rsn']/*[local-name()='Cd'])").strip()
        if not e2e:
            raise InvalidValue("OrgnlEndToEndId", f"line {tx.sourceline}", "is missing from a rejected transaction")
        rejects.append(Reject(e2e, code or "NARR", tx.sourceline))
    return rejects


def group_rejects(uow: UnitOfWork, content: bytes) -> list[Reject]:
    """Rejects of whole messages (GrpSts RJCT): every collection of that batch, by its stored message id."""
    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    out = []
    for grp in root.xpath("//*[local-name()='OrgnlGrpInfAndSts']"):
        if grp.xpath("string(*[local-name()='GrpSts'])") != "RJCT":
            continue
        msg = grp.xpath("string(*[local-name()='OrgnlMsgId'])").strip()
        code = grp.xpath("string(*[local-name()='StsRsnInf']/*[local-name()='Rsn']/*[local-name()='Cd'])").strip()
        batch = uow.conn.execute(sa.select(sepa_batch.c.id).where(sepa_batch.c.message_id == msg)).scalar()
        if batch is None:
            raise InvalidValue("OrgnlMsgId", msg, f"(line {grp.sourceline}) names no SEPA batch we exported")
        ids = uow.conn.execute(sa.select(payment.c.external_ref).where(payment.c.sepa_batch_id == batch)).scalars()
        out += [Reject(e2e, code or "NARR", grp.sourceline) for e2e in ids]
    return out


def apply_returns(uow: UnitOfWork, content: bytes) -> ReturnsReport:
    """Mark the rejected collections returned (bills reopen, the in-transit entry is reversed); all or nothing."""
    rejects = parse_pain002(content) + group_rejects(uow, content)
    found = []
    for r in rejects:
        row = uow.conn.execute(sa.select(payment.c.id, payment.c.status, payment.c.payment_method_id).where(
            payment.c.gateway == "sepa", payment.c.external_ref == r.end_to_end_id)).first()
        if row is None:
            raise InvalidValue("OrgnlEndToEndId", r.end_to_end_id,
                               f"(line {r.line}) names no direct debit collection we exported")
        found.append((r, row))
    returned, already = [], 0
    for r, row in found:
        if row.status == STATUS_RETURNED:
            already += 1
            continue
        reason = f"{r.code}: {REASONS.get(r.code, 'rejected by the bank')}"
        returned.append(refunds.undo(uow, row.id, "return", reason=reason))
        if r.code in MANDATE_CODES and row.payment_method_id is not None:
            m = method_service.get_method(uow, row.payment_method_id)
            if m.usable:
                method_service.deactivate(uow, m.id, f"direct debit returned {reason}")
    return ReturnsReport(tuple(returned), already)


def batch_message_ids(text: str) -> list[str]:
    """The message ids of our batches a bank text names (a whole batch, not one collection's end-to-end id)."""
    return MESSAGE_ID.findall(text.upper())


def in_transit(uow: UnitOfWork, message_id: str) -> Money | None:
    """What the batch still has in transit (its collections neither returned nor settled); None when no batch
    of ours has that message id."""
    batch = uow.conn.execute(sa.select(sepa_batch.c.id).where(sepa_batch.c.message_id == message_id)).scalar()
    if batch is None:
        return None
    amounts = uow.conn.execute(sa.select(payment.c.amount).where(
        payment.c.sepa_batch_id == batch, payment.c.status == STATUS_PENDING)).scalars().all()
    return total((Money(a, "EUR") for a in amounts), "EUR")


def settle_batch(uow: UnitOfWork, message_id: str) -> list[Payment]:
    """The bank credited a batch (its statement line names the message id): its collections not returned leave
    IN_TRANSIT for BANK and are done. Running it again changes nothing."""
    batch = uow.conn.execute(sa.select(sepa_batch.c.id).where(sepa_batch.c.message_id == message_id)).scalar()
    if batch is None:
        raise InvalidValue("messageId", message_id, "names no SEPA batch we exported")
    ids = uow.conn.execute(sa.select(payment.c.id).where(
        payment.c.sepa_batch_id == batch, payment.c.status.in_((STATUS_PENDING, STATUS_DONE))
    ).order_by(payment.c.id)).scalars().all()
    return [refunds.settle(uow, pid) for pid in ids]
