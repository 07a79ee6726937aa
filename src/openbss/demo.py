"""`openbss demo`: a sample operator's month, end to end, through the same code paths operators use.

Seeds a mobile and a broadband offer and a few hundred customers, writes a month of usage to a CSV
file and imports it (with a few deliberately bad rows, which are reported, not lost), runs the bill
run, records payments for most invoices, and prints a summary whose last line is computed from the
ledger's trial balance and hash chain. Deterministic: the same seed gives the same figures.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openbss.billing import service as billing
from openbss.catalog import service as catalog
from openbss.catalog.service import NewOffering, NewPrice
from openbss.core.clock import FixedClock
from openbss.core.ids import new_id
from openbss.core.money import Money, total
from openbss.db.uow import unit_of_work
from openbss.ledger import service as ledger
from openbss.mediation import service as mediation
from openbss.ordering import service as ordering
from openbss.ordering.service import NewOrder, NewOrderItem
from openbss.party import service as party
from openbss.party.service import NewBillingAccount, NewCustomer
from openbss.payments import service as payments
from openbss.payments.service import NewPayment

FIRST = ["Anna", "Lukas", "Marie", "Jonas", "Sophie", "Noah", "Léa", "Hugo", "Emma", "Daan", "Julia", "Finn",
         "Clara", "Milan", "Eva", "Louis", "Lena", "Paul", "Sara", "Tom", "Ines", "Max", "Nora", "Elias"]
LAST = ["Müller", "Schmidt", "Martin", "Bernard", "de Vries", "Jansen", "Gruber", "Peeters", "Wagner", "Dubois",
        "Bakker", "Huber", "Fischer", "Moreau", "Visser", "Maes", "Weber", "Laurent", "Becker", "Hofer"]
COUNTRIES = [("DE", "Europe/Berlin", "+4915"), ("FR", "Europe/Paris", "+336"), ("NL", "Europe/Amsterdam", "+316"),
             ("AT", "Europe/Vienna", "+43664"), ("BE", "Europe/Brussels", "+32470")]
BAD_ROWS = [
    # (reason it is bad) record_key, service_id, usage_type, start_time, quantity
    ["bad-1", "+000000000", "voice", "{d}T10:00:00+00:00", "60"],  # nobody has this number
    ["bad-2", "{msisdn}", "voice", "{d}T10:00:00+00:00", "-5"],  # negative duration
    ["bad-3", "{msisdn}", "fax", "{d}T10:00:00+00:00", "1"],  # no such usage type
]


@dataclass
class Subscriber:
    account_id: object
    service_id: str
    kind: str  # "mobile" or "broadband"
    start: datetime


def previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def seed_catalog(engine, clock) -> dict[str, object]:
    """Two plans, a bundle of both with 10 % off, and a welcome promotion on fibre (code FIBRE3)."""
    eur = lambda v: Money.of(v, "EUR")  # noqa: E731
    mobile = NewOffering(
        name="Mobile M",
        description="Mobile plan: 30 EUR a month; calls 0.12 EUR/min billed per second, SMS 0.09, data 0.01 EUR/MB",
        prices=[
            NewPrice(kind="recurring", amount=eur("30.00"), period="month", name="monthly fee"),
            NewPrice(kind="usage", amount=eur("0.0020"), usage_type="voice", unit_size=Decimal(1)),
            NewPrice(kind="usage", amount=eur("0.09"), usage_type="sms", unit_size=Decimal(1)),
            NewPrice(kind="usage", amount=eur("0.01"), usage_type="data", unit_size=Decimal(1_000_000)),
        ],
    )
    fibre = NewOffering(
        name="Fibre 500",
        description="Fibre broadband 500 Mbit/s: 44.90 EUR a month, 49.00 installation; "
                    "welcome promotion FIBRE3: half price for 3 months",
        prices=[
            NewPrice(kind="recurring", amount=eur("44.90"), period="month", name="monthly fee"),
            NewPrice(kind="oneTime", amount=eur("49.00"), name="installation"),
            NewPrice(kind="usage", amount=eur("0.00"), usage_type="data", unit_size=Decimal(1_000_000_000)),
            NewPrice(kind="discount", amount=None, percentage=Decimal(50), applies_to="monthly fee",
                     duration_periods=3, promotion_code="FIBRE3", name="Welcome promotion"),
        ],
    )
    with unit_of_work(engine, actor="demo", clock=clock) as uow:
        offers = {"mobile": catalog.create_offering(uow, mobile).id, "broadband": catalog.create_offering(uow, fibre).id}
        offers["bundle"] = catalog.create_offering(uow, NewOffering(
            name="Mobile + Fibre",
            description="Mobile M and Fibre 500 together, 10 % off both monthly fees",
            is_bundle=True,
            bundled_offering_ids=(offers["mobile"], offers["broadband"]),
            prices=[NewPrice(kind="discount", amount=None, percentage=Decimal(10), name="Bundle discount")],
        )).id
    return offers


def _joined(rng: random.Random, period_start: date, zone: ZoneInfo) -> datetime:
    # Most customers joined before the month; some during it, so their first invoice prorates.
    if rng.random() < 0.8:
        start_day = period_start - timedelta(days=rng.randint(1, 25))
    else:
        start_day = period_start + timedelta(days=rng.randint(1, 20))
    return datetime.combine(start_day, time(10, 0), zone)


def seed_customer(engine, rng: random.Random, offers, period_start: date, i: int) -> list[Subscriber]:
    """One consumer with a billing account and one subscription (mobile, fibre with or without the welcome
    promotion, or the bundle), created at its own start time."""
    country, tz, prefix = rng.choice(COUNTRIES)
    start = _joined(rng, period_start, ZoneInfo(tz))
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    kind = rng.choices(["mobile", "broadband", "bundle"], weights=[60, 22, 18])[0]
    service_id = f"FTTH-{country}-{i:06d}" if kind == "broadband" else f"{prefix}{rng.randint(10**7, 10**8 - 1)}"
    promotion = "FIBRE3" if kind == "broadband" and rng.random() < 0.5 else None
    with unit_of_work(engine, actor="demo", clock=FixedClock(start)) as uow:
        c = party.create_customer(uow, NewCustomer(name=name, email=f"customer{i}@example.org"))
        acc = party.create_billing_account(uow, NewBillingAccount(c.id, f"{name} ({kind})", "EUR", country, 1, tz))
        item = NewOrderItem(offers[kind], service_id, promotion_code=promotion)
        ordering.place_order(uow, NewOrder(acc.id, [item], requested_start=start))
    return [Subscriber(acc.id, service_id, "broadband" if kind == "broadband" else "mobile", start)]


def seed_business(engine, rng: random.Random, offers, period_start: date, i: int) -> list[Subscriber]:
    """A company with an account hierarchy: the head-office account pays ("parent pays") for the mobile lines
    of its departments, which each have their own child account; one consolidated invoice goes to the parent."""
    name = f"{rng.choice(LAST)} {rng.choice(['GmbH', 'AG', 'KG'])}"
    start = _joined(rng, period_start, ZoneInfo("Europe/Berlin"))
    subscribers = []
    with unit_of_work(engine, actor="demo", clock=FixedClock(start)) as uow:
        c = party.create_customer(uow, NewCustomer(name=name, email=f"billing{i}@example.com", segment="business"))
        parent = party.create_billing_account(uow, NewBillingAccount(
            c.id, f"{name} head office", "EUR", "DE", 1, "Europe/Berlin", payment_terms_days=30))
        for department in ("Sales", "Service", "Logistics"):
            child = party.create_billing_account(uow, NewBillingAccount(
                c.id, f"{name} {department}", "EUR", "DE", 1, "Europe/Berlin", parent_id=parent.id,
                bill_to_parent=True))
            lines = [f"+4917{rng.randint(10**7, 10**8 - 1)}" for _ in range(rng.randint(1, 3))]
            ordering.place_order(uow, NewOrder(child.id, [NewOrderItem(offers["mobile"], s) for s in lines],
                                               requested_start=start))
            subscribers += [Subscriber(child.id, s, "mobile", start) for s in lines]
    return subscribers


def write_usage_csv(path: Path, rng: random.Random, subscribers, start: datetime, end: datetime) -> int:
    """A month of realistic usage: calls (exponential durations), SMS, mobile and fixed data sessions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record_key", "service_id", "usage_type", "start_time", "quantity"])
        for s in subscribers:
            first = max(start, s.start)
            span = (end - first).total_seconds()
            events = []
            if s.kind == "mobile":
                events += [("voice", max(1, int(rng.expovariate(1 / 150)))) for _ in range(rng.randint(20, 120))]
                events += [("sms", 1) for _ in range(rng.randint(0, 60))]
                events += [("data", int(rng.lognormvariate(17, 1.2))) for _ in range(rng.randint(30, 90))]
            else:
                events += [("data", int(rng.lognormvariate(21, 0.8))) for _ in range(31)]
            for n, (usage_type, qty) in enumerate(events):
                at = first + timedelta(seconds=rng.uniform(0, span))
                w.writerow([f"{s.service_id}-{usage_type}-{n}", s.service_id, usage_type, at.isoformat(), qty])
                rows += 1
        any_mobile = next(s for s in subscribers if s.kind == "mobile")
        for row in BAD_ROWS:
            w.writerow([c.format(d=start.date().isoformat(), msisdn=any_mobile.service_id) for c in row])
    return rows


def has_data(engine) -> bool:
    with unit_of_work(engine, actor="demo") as uow:
        return party.list_customers(uow, {}, 0, 1)[1] > 0


def pay_invoices(engine, rng: random.Random, paid_from: datetime) -> None:
    """Most customers pay in full, some pay part, some not yet (they will be dunned later)."""
    for inv in _all(engine, billing.list_invoices):
        roll = rng.random()
        if roll < 0.12:
            continue
        amount = inv.gross_total if roll > 0.2 else Money(inv.gross_total.amount / 2, inv.currency).rounded()
        at = paid_from + timedelta(days=rng.randint(1, 14), hours=rng.randint(8, 18))
        with unit_of_work(engine, actor="demo", clock=FixedClock(at)) as uow:
            payments.record_payment(
                uow,
                NewPayment(
                    account_id=inv.account_id,
                    amount=amount,
                    method=rng.choice(["bankTransfer", "directDebit", "card"]),
                    received_at=at,
                    external_ref=f"BANK-{inv.number}",
                    idempotency_key=f"demo-{inv.number}",
                    invoice_id=inv.id,
                ),
            )


def _all(engine, list_fn, filters=None) -> list:
    items, offset = [], 0
    with unit_of_work(engine, actor="demo") as uow:
        while True:
            page, total = list_fn(uow, filters or {}, offset, 1000)
            items += page
            offset += len(page)
            if not page or offset >= total:
                return items


@dataclass
class Summary:
    customers: int
    usage_records: int
    invoices: int
    net: Money
    tax: Money
    gross: Money
    paid: Money
    outstanding: Money
    balanced: bool
    chain_ok: bool


def summarize(engine, currency: str = "EUR") -> Summary:
    invoices = [i for i in _all(engine, billing.list_invoices) if i.currency == currency]
    paid = [p for p in _all(engine, payments.list_payments) if p.amount.currency == currency]
    with unit_of_work(engine, actor="demo") as uow:
        customers = party.list_customers(uow, {}, 0, 1)[1]
        usage_records = mediation.list_usage(uow, {}, 0, 1)[1]
        outstanding = total((b for b in ledger.ar_balances(uow).values() if b.currency == currency), currency)
        trial = ledger.trial_balance(uow)
    return Summary(
        customers=customers,
        usage_records=usage_records,
        invoices=len(invoices),
        net=total((i.net_total for i in invoices), currency),
        tax=total((i.tax_total for i in invoices), currency),
        gross=total((i.gross_total for i in invoices), currency),
        paid=total((p.amount for p in paid), currency),
        outstanding=outstanding,
        balanced=trial.balanced,
        chain_ok=trial.chain_ok,
    )


def run(engine, console, *, customers: int, seed: int, period: str, home: Path, rounding: str) -> None:
    """Seed, generate, import, rate, bill and pay one month; every step through the public services."""
    from rich.progress import Progress

    rng = random.Random(seed)
    year, month = map(int, period.split("-"))
    period_start = date(year, month, 1)
    next_start = (period_start + timedelta(days=32)).replace(day=1)
    utc = ZoneInfo("UTC")
    offers = seed_catalog(engine, FixedClock(datetime.combine(period_start - timedelta(days=40), time(9), utc)))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"seeding {customers} customers", total=customers)
        subscribers = []
        businesses = customers // 40  # one in forty customers is a company with an account hierarchy
        for i in range(customers):
            seed = seed_business if i < businesses else seed_customer
            subscribers += seed(engine, rng, offers, period_start, i)
            progress.advance(task)
    console.print(f"seeded 3 offers (a bundle, a promotion) and {customers} customers ({businesses} companies "
                  "with parent-pays account hierarchies) with their accounts and subscriptions")

    usage_file = home / "demo" / f"usage-{period}.csv"
    month_start = datetime.combine(period_start, time(0), ZoneInfo("Europe/Berlin"))
    month_end = datetime.combine(next_start, time(0), ZoneInfo("Europe/Berlin"))
    rows = write_usage_csv(usage_file, rng, subscribers, month_start, month_end - timedelta(seconds=1))
    console.print(f"wrote {rows:,} usage records (+{len(BAD_ROWS)} bad ones) to {usage_file}")

    from openbss.mediation.cli import import_with_progress

    import_with_progress(engine, usage_file, source="demo-switch", console=console)

    bill_clock = FixedClock(datetime.combine(next_start, time(2), utc))
    from openbss.billing.cli import run_with_progress

    run_with_progress(engine, period, clock=bill_clock, rounding=rounding, console=console)
    pay_invoices(engine, rng, datetime.combine(next_start, time(8), utc))
    console.print("recorded the customers' payments")


# The sample operator's legal identity: invoices name it as seller (EN 16931 BG-4) and its bank account (BG-16).
DEMO_SELLER = {
    "name": "openbss Demo Telecom GmbH", "trading_name": "openbss Demo Telecom", "vat_id": "DE136695976",
    "registration_id": "HRB 123456 B", "street": "Friedrichstraße 100", "post_code": "10117", "city": "Berlin",
    "country": "DE", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "contact_email": "billing@example.com",
}


def ensure_seller(engine) -> None:
    """The demo's seller profile, unless the operator has set one (it is never overwritten)."""
    from openbss.seller import service as seller

    with unit_of_work(engine, actor="demo") as uow:
        if seller.find_seller(uow) is None:
            seller.set_seller(uow, DEMO_SELLER)


def write_documents(engine, home: Path) -> tuple[Path, Path] | None:
    """The PDF (with its call detail) and the UBL of one consumer's invoice with usage, in `home`/documents;
    None when no invoice has usage. A consumer's (usage of one subscription) rather than a head office's, whose
    consolidated call detail takes longer to print; the first one found, so a rerun writes the same files."""
    from openbss.billing.documents.export import file_name, render, write_file

    ensure_seller(engine)
    with unit_of_work(engine, actor="demo") as uow:
        lines, _ = billing.list_invoice_lines(uow, {"type": "usage"}, 0, 500)
    if not lines:
        return None
    products: dict[object, set] = {}
    for billed in lines:
        products.setdefault(billed.invoice.id, set()).add(billed.line.product_id)
    chosen = next((i for i, ids in products.items() if len(ids) == 1), lines[0].invoice.id)
    inv = next(billed.invoice for billed in lines if billed.invoice.id == chosen)
    paths = []
    for fmt in ("pdf", "ubl"):
        path = home / "documents" / file_name(inv.number, fmt)
        write_file(path, render(engine, inv.id, fmt))
        paths.append(path)
    return paths[0], paths[1]


def demo_api_key(engine, home: Path) -> str:
    """The demo's admin key, kept in OPENBSS_HOME/demo-api-key so the README's curl examples can read it."""
    from openbss.auth.service import create_api_key

    path = home / "demo-api-key"
    if path.exists():
        return path.read_text().strip()
    with unit_of_work(engine, actor="demo") as uow:
        key = create_api_key(uow, f"demo-admin-{new_id().hex[-8:]}", "admin")
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
