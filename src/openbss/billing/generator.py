"""The invoice generator: `generate` (billing events, earlier invoices, date -> proposed invoice), pure, no I/O.

The charges come from builders of their own: recurring.py (recurring prices, discounts and credits), one_time.py
(one-time prices and early-termination fees), usage.py (usage in arrears) and commitment.py (minimum spend
top-ups); spans.py reads the products' charged spans from their events; model.py holds the types.

Decisions (the issue's, recorded here so the code can be read against them):

- Bill cycle periods. `YYYY-MM` names the period that STARTS in that month on the account's bill-cycle
  day at 00:00 in the account's time zone: BCD 15, "2026-10" = [2026-10-15 00:00, 2026-11-15 00:00)
  local for a monthly account; a quarterly or yearly account's period is 3 or 12 such months and starts
  only in the months of its alignment (billing.periods). Periods are half-open; `period_end` and a line's
  `service_end` are the first day NOT covered. The bill run for a period runs after it closes (and after
  the account's grace days) and issues the invoice dated the period's end date (local); due date = issue
  date + the account's payment terms (`payment_terms_days`, 14 by default). A final bill
  (billing.final_bill) is dated the day it is issued.
- Recurring charges by timing (`chargeTiming`, in advance by default), usage in arrears. The invoice for
  period P carries (a) every recurring charge not yet billed for a product whose term is billable (`_chunks`):
  in advance, terms that start before the end of P+1 (the first invoice catches up a mid-period activation,
  prorated, and bills P+1 in advance; later invoices bill just P+1); in arrears, terms that have ended by the
  end of P (a monthly price in arrears bills P on P's invoice), or whose product stopped before their end,
  (b) all rated, unbilled usage dated before the end of P (late usage of earlier periods included), one line
  per product and usage type, (c) one-time prices of products whose life started before the end of P, and
  early-termination fees of cancellations before the end of P.
- Terms of recurring prices (`charge_term`): a month is the cycle month (a quarterly account's period holds
  three, billed in advance together); a quarter and a year are 3 and 12 of them aligned to the year (to the
  account's anchor month on an anniversary cycle) (quarters from the cycle periods starting in January, April, July, October;
  years from January's), so an annual fee is billed once a year, on the invoice for December's period, and an
  activation mid-year is prorated by day to the year's end (Oct 10 to Dec 31: 83/365). A day is a day; weeks
  run from the day the product moved to the offering. Day and week prices are billed as a count of days or
  weeks: one line per bill period with price × days / 7 (or × days); a week that straddles two bill periods
  is counted, whole, in the period it starts in when billed in advance, and in the period it ends in when
  billed in arrears (each term is billed on one invoice, before it starts or after it ends). Every charge is
  price × days / days of its term, so proration on activation and credits on cancellation are by day for
  every period. An invoice looks at product events up to the end of the longest term it may bill
  (`events_horizon`), so an end-of-term cancellation already decided shortens a year billed in advance.
- Usage is priced on the bill period's totals where the price needs them (`catalog.model.usage_charge`):
  a usage price with an allowance (`included_units`) or a block, graduated or volume model charges
  usage_charge(price, the quantity claimed for the line), rounded once; allowances are per bill period and
  per product, not prorated for a partial first period. Blocks are started blocks of the period's total, as
  the catalog defines the model (61 s + 30 s + 125 s in 60-second blocks is 4 blocks, not the 6 of per-call
  rounding, which would need a model of its own). The version is the one the subscription has at the
  period's start (`price_for_subscription`). Included units are per cycle month, like rating's allowance
  buckets: a quarterly period's total gets three months of them. A per-unit price without allowance keeps the sum of the
  per-record rated amounts, each rated at the price valid at its usage date. Late usage (dated in an
  earlier, already billed period) counts with the period it is billed in: an issued invoice is never
  reopened, so the earlier period's allowance and tiers stay as they were billed and the late quantity
  joins the current period's total (as a rating engine that closes its period counters at bill time does).
- The subscription's life is read from its product events (Kill Bill style, `charged_spans`): charged
  from `activated` / `trial_converted`, for the new offering from the day of an `upgraded` /
  `downgraded` (that day included), not between `suspended` and `resumed` when the suspension stops
  charges, until `cancelled` (immediate, or the end of term). Proration is by calendar day in the zone
  of the invoiced account: fraction = days / days in the term (Oct 10 to Oct 31 of October: 22/31).
- What is already billed is derived from the existing lines (product, offering, the charged component
  `component_id`, service days), never from a mutable "billed through" flag, so `generate` is a pure
  function of its inputs. Per offering, days billed and no longer due are CREDITED; per charge (offering
  and component), days due and not yet billed are CHARGED. A credit is a line of the same kind as the line it gives back (recurring, or discount for a
  discount) with negative quantity and amount, `reverses_id` naming that line, and the description
  starting "Credit:": it takes that line's own amount pro rata (net × days / line days), so it mirrors
  what was billed, whatever price or discount applies today. VAT follows the line (same category, rate
  of the new invoice's tax point). Ledger-wise a credit reduces the revenue of its kind.
- An invoice never totals below zero: when the credits of a period exceed its charges, the credits are
  left out and come back on the next invoice that has charges to set them against (a credit note for
  a customer who leaves with a credit is not issued yet).
- Prices: the recurring price version is chosen by `catalog.model.price_for_subscription` from when the
  product moved to the offering (keep: grandfathered; next_cycle: from the next cycle start on or after
  the new version's start), valid at the first charged day of the span. A bundle is charged its own
  prices plus those of each bundled offering. Discounts (`discount_applies`, `discount_amount`) follow
  each recurring charge they apply to as their own negative "discount" line, counted in bill periods
  from when the product moved to the offering (period 0 is the one it started in); a promotion's code
  is read from the activation event's details `promotionCode`.
- Parent pays: a child account with `bill_to_parent` has no invoice; its charges go on its payer's
  invoice, on the payer's cycle and zone, after the payer's own lines, each line's description starting
  with the child's account number.
- Each line is rounded once to the currency's minor units. VAT per EN 16931: lines are grouped by
  (tax category, rate), each group's tax = round(sum of its rounded line nets x rate), the invoice's
  tax is the sum of the groups, gross = net + tax: the invoice adds up to the cent. The tax point is
  the issue date. Where and how the invoice is taxed (`billing.tax.place_of_supply`: the seller's country,
  the account's country and VAT id) gives the tax country and each line's category: a tax-exempt account
  (TMF666 taxExemption) gets every line "exempt" at 0 %, a business in another EU member state
  "reverseCharge" at 0 %, a customer outside the EU where the operator does not collect tax "outOfScope".
- Tax-inclusive prices (`Price.tax_included`): the charge computed from the price (prorated, discounted,
  rounded once as any other) is the line's gross; its net = round(gross / (1 + rate)) at the line's rate.
  The group's tax is then round(sum of the exclusive lines' nets x rate) + the sum of (gross - net) of its
  inclusive lines, so the customer pays exactly the inclusive prices (9.99 incl. 19 %: net 8.39, VAT 1.60,
  gross 9.99, where round(8.39 x 0.19) would give 1.59 and 9.98). That tax stays within the one-unit
  tolerance EN 16931 allows a VAT group (BR-CO-17); if it would not, the group falls back to
  round(taxable x rate). At a 0 % rate (exempt, reverse charge) the inclusive price is the net.
- Recurring prices are taken in the account's currency; an offering whose recurring prices exist only in
  other currencies is an InvalidValue for the account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from openbss.billing import tax
from openbss.billing.charges import Charge, Context
from openbss.billing.commitment import commitment_charges
from openbss.billing.model import InvoiceDraft, InvoiceLine, InvoiceTax, Subscriptions, TaxRates, vat_breakdown
from openbss.billing.one_time import one_time_charges
from openbss.billing.periods import BillPeriod
from openbss.billing.recurring import recurring_charges
from openbss.billing.usage import usage_charges
from openbss.core.ids import new_id
from openbss.core.money import Money, total

if TYPE_CHECKING:
    from openbss.party.model import BillingAccount


def _charges(ctx: Context, period: BillPeriod, existing: Sequence[InvoiceLine]) -> list[Charge]:
    products = sorted(ctx.subject.products, key=lambda p: (p.start_at, p.id))
    charges = []
    for p in products:
        charges += one_time_charges(ctx, period, p, existing)
        charges += recurring_charges(ctx, period, p, existing)
    ordered = replace(ctx, subject=replace(ctx.subject, products=products))
    usage = usage_charges(ordered, period)
    return charges + usage + commitment_charges(ordered, period, usage)


def generate(
    payer: Subscriptions,
    period: BillPeriod,
    existing_lines: Sequence[InvoiceLine],
    tax_rates: TaxRates,
    rounding: str,
    children: Sequence[Subscriptions] = (),
    *,
    seller_country: str | None = None,
) -> InvoiceDraft | None:
    """The invoice for `period` of `payer.account`, or None when there is nothing to bill.

    `existing_lines` are the lines already billed (on any invoice) for the products of `payer` and
    `children`, all kinds but usage. `children` are the accounts whose charges go on this invoice ("parent
    pays"): each is charged on the payer's cycle, in the payer's zone, and its lines follow the payer's own,
    account by account, each description starting with the child's account number. Per account, lines come
    product by product (oldest first): one-time charges, recurring spans in date order with their discounts
    and credits, then usage by type. `seller_country` (the seller profile's; None when no profile is set)
    decides with the payer's country and VAT id where the invoice is taxed (`billing.tax.place_of_supply`).
    """
    account = payer.account
    charges = []
    for subject in (payer, *children):
        label = "" if subject is payer else f"{subject.account.number}: "
        charges += _charges(Context(account, subject, label, rounding), period, existing_lines)
    supply = tax.place_of_supply(seller_country, account.country, account.vat_id, account.tax_exempt)
    draft = _draft(account, period, charges, supply, tax_rates, rounding)
    if draft is not None and draft.gross_total.amount < 0:
        # Credits larger than the charges would make a credit note, which billing does not issue: they wait
        # for the next invoice with charges, where `generate` finds them again (nothing is stored meanwhile).
        draft = _draft(account, period, [c for c in charges if c.reverses_id is None], supply, tax_rates, rounding)
    return draft


def _draft(account: BillingAccount, period: BillPeriod, charges: Sequence[Charge], supply: tax.Supply,
           tax_rates: TaxRates, rounding: str) -> InvoiceDraft | None:
    if not charges:
        return None
    issue_date = period.end
    lines = []
    for n, c in enumerate(charges, start=1):
        # VAT follows the invoiced party: an exempt payer's lines are all exempt, credits included.
        category = supply.category(c.tax_category)
        rate = tax_rates(supply.country, category, issue_date)
        net, gross = c.net, None
        if c.tax_included:
            gross, net = c.net, Money(c.net.amount / (1 + rate), c.net.currency).rounded(rounding)
        lines.append(InvoiceLine(
            id=new_id(), line_no=n, kind=c.kind, description=c.description, product_id=c.product_id,
            offering_id=c.offering_id, usage_type=c.usage_type, quantity=c.quantity, unit=c.unit,
            service_start=c.service_start, service_end=c.service_end, net=net, tax_category=category,
            tax_rate=rate, reverses_id=c.reverses_id, component_id=c.component_id, gross=gross,
        ))
    taxes = _keeping_gross(vat_breakdown(lines, account.currency, rounding, supply.country), lines, rounding)
    net = total((line.net for line in lines), account.currency)
    tax_total = total((t.tax for t in taxes), account.currency)
    return InvoiceDraft(
        account_id=account.id, period=period, issue_date=issue_date,
        due_date=issue_date + timedelta(days=account.payment_terms_days), currency=account.currency,
        lines=tuple(lines), taxes=taxes, net_total=net, tax_total=tax_total, gross_total=net + tax_total,
    )



def _keeping_gross(taxes: Sequence[InvoiceTax], lines: Sequence[InvoiceLine], rounding: str) -> tuple[InvoiceTax, ...]:
    """The breakdown with each group holding tax-inclusive lines taxed so that they keep their gross: round(the
    exclusive lines' nets x rate) + the sum of (gross - net) of the inclusive ones, unless that is 1 unit or more
    away from round(taxable x rate), which EN 16931 would refuse (BR-CO-17)."""
    result = []
    for t in taxes:
        members = [line for line in lines if (line.tax_category, line.tax_rate) == (t.tax_category, t.tax_rate)]
        inclusive = [line for line in members if line.gross is not None]
        if inclusive:
            exclusive = total((line.net for line in members if line.gross is None), t.taxable.currency)
            kept = ((exclusive * t.tax_rate).rounded(rounding)
                    + total((line.gross - line.net for line in inclusive), t.taxable.currency))
            if abs(kept.amount - t.tax.amount) < 1:
                t = replace(t, tax=kept)
        result.append(t)
    return tuple(result)
