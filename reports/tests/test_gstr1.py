"""The GSTR-1 return of golden months built with factories: every section hand-checked
where the rules bite, every return checked against the schema and, to the paisa,
against the stored documents."""

import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import CreditNote, Order, TaxInvoice
from reports.gstr1_check import documents_totals, gstr1_problems

from .world import SELLER_GSTIN, credited, gstin, invoiced, ist

SCHEMA = json.loads((Path(__file__).parents[1] / "gstr1.schema.json").read_text(), parse_float=Decimal)
NOVEMBER = datetime.date(2026, 11, 1)
LARGE = 10_000_000  # ₹1,00,000 a month: ₹1,18,000 with GST


def gstr1(month="2026-11") -> dict:
    out = io.StringIO()
    call_command("gstr1", month, stdout=out)
    returned = json.loads(out.getvalue(), parse_float=Decimal)
    jsonschema.validate(returned, SCHEMA, format_checker=jsonschema.FormatChecker())
    return returned


@pytest.fixture
def golden(db):
    """October and November 2026 (seller in Karnataka, 29). Returns the documents by name."""
    docs = {}
    docs["oct_b2cs_tn"] = invoiced(ist(2026, 10, 31, 23, 59, 59), state="Tamil Nadu")
    docs["oct_b2cl_tn"] = invoiced(ist(2026, 10, 20, 12), price_paise=LARGE, state="Tamil Nadu")
    docs["oct_b2b_mh"] = invoiced(ist(2026, 10, 21, 12), buyer_gstin=gstin("27", "AABCM1111M"))
    docs["nov_first_minute"] = invoiced(ist(2026, 11, 1, 0, 0, 0), state="Kerala")
    docs["b2b_intra"] = invoiced(ist(2026, 11, 3, 10), buyer_gstin=gstin("29"))
    docs["b2b_inter"] = invoiced(ist(2026, 11, 4, 10), buyer_gstin=gstin("27"))
    docs["b2b_ut"] = invoiced(ist(2026, 11, 5, 10), buyer_gstin=gstin("38", "AABCL2222L"))
    docs["b2c_intra_small"] = invoiced(ist(2026, 11, 6, 10))
    docs["b2c_inter_small"] = invoiced(ist(2026, 11, 7, 10), state="Tamil Nadu")
    docs["b2cl"] = invoiced(ist(2026, 11, 8, 10), price_paise=LARGE, state="Tamil Nadu")
    docs["b2c_intra_large"] = invoiced(ist(2026, 11, 9, 10), price_paise=LARGE)
    docs["b2c_at_limit"] = invoiced(ist(2026, 11, 10, 10), price_paise=8_474_576, state="Goa")  # ₹1,00,000.00
    docs["last_second"] = invoiced(ist(2026, 11, 30, 23, 59, 59), state="Kerala")
    docs["dec_first_minute"] = invoiced(ist(2026, 12, 1, 0, 0, 0), state="Kerala")
    cancelled = invoiced(ist(2026, 11, 12, 10), state="Kerala")
    Order.objects.filter(pk=cancelled.pk).update(status="cancelled")  # its invoice must never be reported
    november = ist(2026, 11, 15, 12)
    docs["cn_b2b_full"] = credited(docs["b2b_intra"], docs["b2b_intra"].total_paise, november)
    docs["cn_b2b_partial"] = credited(docs["b2b_inter"], 100000, november)
    docs["cn_b2cs_partial"] = credited(docs["b2c_intra_small"], 100000, november)
    docs["cn_oct_b2cs"] = credited(docs["oct_b2cs_tn"], 50000, november)
    docs["cn_oct_b2cl"] = credited(docs["oct_b2cl_tn"], 1180000, november)
    docs["cn_oct_b2b_full"] = credited(docs["oct_b2b_mh"], docs["oct_b2b_mh"].total_paise, november)
    docs["cn_december"] = credited(docs["b2c_inter_small"], 20000, ist(2026, 12, 1, 0, 0, 0))
    return docs


def numbers(entries, key="inv", number="inum"):
    return [doc[number] for entry in entries for doc in entry[key]]


def test_the_month_holds_the_invoices_dated_in_it_in_kolkata(golden):
    returned = gstr1()
    reported = numbers(returned["b2b"]) + numbers(returned["b2cl"])
    assert returned["gstin"] == SELLER_GSTIN and returned["fp"] == "112026" and returned["hash"] == "hash"
    invoice_docs = returned["doc_issue"]["doc_det"][0]
    assert invoice_docs["doc_num"] == 1
    (series,) = invoice_docs["docs"]
    # 23:59:59 on the 31st of October and 00:00 on the 1st of December are out; 00:00 on the 1st and
    # 23:59:59 on the 30th are in; the cancelled order's invoice is not reported.
    assert (series["from"], series["to"]) == (
        golden["nov_first_minute"].invoice_number,
        golden["last_second"].invoice_number,
    )
    assert series["totnum"] == series["net_issue"] == 10 and series["cancel"] == 0
    assert golden["b2b_intra"].invoice_number in reported and golden["oct_b2b_mh"].invoice_number not in reported


def test_b2b_lists_each_gstin_buyers_invoices_with_the_tax_split_as_written(golden):
    b2b = {entry["ctin"]: entry["inv"] for entry in gstr1()["b2b"]}
    assert sorted(b2b) == sorted([gstin("29"), gstin("27"), gstin("38", "AABCL2222L")])
    (intra,) = b2b[gstin("29")]
    assert intra == {
        "inum": golden["b2b_intra"].invoice_number,
        "idt": "03-11-2026",
        "val": Decimal("2643.20"),
        "pos": "29",
        "rchrg": "N",
        "inv_typ": "R",
        "itms": [
            {
                "num": 1,
                "itm_det": {
                    "txval": Decimal("2240.00"),
                    "rt": 18,
                    "camt": Decimal("201.60"),
                    "samt": Decimal("201.60"),
                    "csamt": 0,
                },
            }
        ],
    }
    (union_territory,) = b2b[gstin("38", "AABCL2222L")]
    assert union_territory["pos"] == "38"  # Ladakh: an inter-state supply, IGST
    assert union_territory["itms"][0]["itm_det"] == {
        "txval": Decimal("2240.00"),
        "rt": 18,
        "iamt": Decimal("403.20"),
        "csamt": 0,
    }


def test_b2cl_is_inter_state_without_gstin_above_one_lakh_and_b2cs_sums_the_rest_less_its_credit_notes(golden):
    returned = gstr1()
    assert returned["b2cl"] == [
        {
            "pos": "33",
            "inv": [
                {
                    "inum": golden["b2cl"].invoice_number,
                    "idt": "08-11-2026",
                    "val": Decimal("118000.00"),
                    "itms": [
                        {
                            "num": 1,
                            "itm_det": {
                                "txval": Decimal("100000.00"),
                                "rt": 18,
                                "iamt": Decimal("18000.00"),
                                "csamt": 0,
                            },
                        }
                    ],
                }
            ],
        }
    ]
    inter = {"typ": "OE", "rt": 18, "csamt": 0, "sply_ty": "INTER"}
    assert returned["b2cs"] == [
        # Goa: exactly ₹1,00,000.00 does not exceed the limit.
        {**inter, "pos": "30", "txval": Decimal("84745.76"), "iamt": Decimal("15254.24")},
        # Kerala: the first minute and the last second of November.
        {**inter, "pos": "32", "txval": Decimal("4480.00"), "iamt": Decimal("806.40")},
        # Tamil Nadu: November's small invoice less a ₹500 credit note on October's (42373 + 7627 paise).
        {**inter, "pos": "33", "txval": Decimal("1816.27"), "iamt": Decimal("326.93")},
        # Karnataka: a small and a large invoice (within the state: never B2CL), less a ₹1,000 credit note.
        {
            "sply_ty": "INTRA",
            "pos": "29",
            "typ": "OE",
            "rt": 18,
            "txval": Decimal("101392.54"),
            "camt": Decimal("9125.33"),
            "samt": Decimal("9125.33"),
            "csamt": 0,
        },
    ]


def test_credit_notes_go_to_cdnr_or_cdnur_in_the_month_they_are_issued(golden):
    returned = gstr1()
    cdnr = {entry["ctin"]: entry["nt"] for entry in returned["cdnr"]}
    assert {ctin: [note["nt_num"] for note in notes] for ctin, notes in cdnr.items()} == {
        gstin("29"): [golden["cn_b2b_full"].number],
        gstin("27"): [golden["cn_b2b_partial"].number],
        gstin("27", "AABCM1111M"): [golden["cn_oct_b2b_full"].number],  # an October invoice, credited in November
    }
    full = cdnr[gstin("29")][0]
    assert full["val"] == Decimal("2643.20") and full["itms"][0]["itm_det"]["camt"] == Decimal("201.60")
    assert full["nt_dt"] == "15-11-2026" and full["ntty"] == "C" and full["pos"] == "29"
    assert returned["cdnur"] == [
        {
            "ntty": "C",
            "nt_num": golden["cn_oct_b2cl"].number,
            "nt_dt": "15-11-2026",
            "val": Decimal("11800.00"),
            "typ": "B2CL",
            "pos": "33",
            "itms": [
                {"num": 1, "itm_det": {"txval": Decimal("10000.00"), "rt": 18, "iamt": Decimal("1800.00"), "csamt": 0}}
            ],
        }
    ]
    (notes,) = [row for row in returned["doc_issue"]["doc_det"] if row["doc_num"] == 5]
    assert notes["docs"][0]["totnum"] == 6  # December's note is December's


def test_the_hsn_summary_is_split_b2b_and_b2c_with_services_at_quantity_zero_net_of_credit_notes(golden):
    hsn = gstr1()["hsn"]
    row = {"num": 1, "hsn_sc": "998315", "uqc": "NA", "qty": 0, "rt": 18, "csamt": 0}
    row["desc"] = "Hosting and IT infrastructure"  # the offline tool takes 30 characters at most
    # b2b: three invoices of ₹2,240.00, less one of them in full, ₹1,000 of another and October's in full.
    assert hsn["hsn_b2b"] == [
        {
            **row,
            "txval": Decimal("1392.54"),
            "iamt": Decimal("250.66"),
            "camt": Decimal("0.00"),
            "samt": Decimal("0.00"),
        }
    ]
    invoices_b2c = TaxInvoice.objects.filter(issued_on__month=11, buyer_gstin="").exclude(order__status="cancelled")
    notes_b2c = CreditNote.objects.filter(issued_on__month=11, buyer_gstin="")
    taxable = sum(invoice.taxable_paise for invoice in invoices_b2c) - sum(note.taxable_paise for note in notes_b2c)
    assert hsn["hsn_b2c"][0]["txval"] == Decimal(taxable) / 100


def test_every_figure_equals_the_stored_documents_to_the_paisa(golden):
    """Summed from the JSON as written, independently of the builder's own sums."""
    returned = gstr1()
    paise = {}
    for head in ("txval", "iamt", "camt", "samt"):

        def total(details, head=head):
            return sum(int(detail.get(head, 0) * 100) for detail in details)

        invoices = total(
            doc["itms"][0]["itm_det"]
            for section in ("b2b", "b2cl")
            for entry in returned[section]
            for doc in entry["inv"]
        )
        notes = total(note["itms"][0]["itm_det"] for entry in returned["cdnr"] for note in entry["nt"])
        notes += total(note["itms"][0]["itm_det"] for note in returned["cdnur"])
        paise[head] = invoices + total(returned["b2cs"]) - notes
        assert paise[head] == total(returned["hsn"]["hsn_b2b"] + returned["hsn"]["hsn_b2c"])
    expected = documents_totals(NOVEMBER)["hsn"]
    assert paise == {"txval": expected.txval, "iamt": expected.iamt, "camt": expected.camt, "samt": expected.samt}
    invoices = TaxInvoice.objects.filter(issued_on__month=11, order__status__in=["paid", "refunded"])
    notes = CreditNote.objects.filter(issued_on__month=11)
    assert paise["txval"] == sum(i.taxable_paise for i in invoices) - sum(n.taxable_paise for n in notes)
    assert gstr1_problems(NOVEMBER) == []


def test_a_month_with_nothing_is_a_valid_empty_return(db):
    assert gstr1("2026-09") == {
        "gstin": SELLER_GSTIN,
        "fp": "092026",
        "version": "GST3.2.1",
        "hash": "hash",
        "b2b": [],
        "b2cl": [],
        "b2cs": [],
        "cdnr": [],
        "cdnur": [],
        "hsn": {"hsn_b2b": [], "hsn_b2c": []},
        "doc_issue": {"doc_det": []},
    }
    assert gstr1_problems(datetime.date(2026, 9, 1)) == []


def test_before_august_2024_b2cl_starts_above_two_and_a_half_lakh_and_before_may_2025_hsn_is_one_list(db):
    invoiced(ist(2024, 7, 10, 12), price_paise=LARGE, state="Tamil Nadu")  # ₹1,18,000: B2CS then
    invoiced(ist(2024, 8, 10, 12), price_paise=LARGE, state="Tamil Nadu")  # ₹1,18,000: B2CL from August
    july, august = gstr1("2024-07"), gstr1("2024-08")
    assert (july["b2cl"], len(july["b2cs"])) == ([], 1)
    assert (len(august["b2cl"]), august["b2cs"]) == (1, [])
    assert list(august["hsn"]) == ["data"] and august["hsn"]["data"][0]["txval"] == Decimal("100000.00")


def test_the_output_file_holds_the_same_return(golden, tmp_path):
    target = tmp_path / "gstr1.json"
    call_command("gstr1", "2026-11", output=str(target))
    assert json.loads(target.read_text(), parse_float=Decimal) == gstr1()
    assert [path.name for path in tmp_path.iterdir()] == ["gstr1.json"]


@pytest.mark.parametrize("month", ["2026-13", "26-11", "2026-1", "november", "", "2027-01"])
def test_a_malformed_or_future_month_exits_2_and_writes_no_file(db, month, tmp_path):
    with pytest.raises(CommandError) as refused:
        call_command("gstr1", month, output=str(tmp_path / "out.json"))
    assert refused.value.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_a_missing_seller_gstin_exits_2_and_writes_no_file(golden, settings, tmp_path):
    settings.SELLER_GSTIN = ""
    with pytest.raises(CommandError) as refused:
        call_command("gstr1", "2026-11", output=str(tmp_path / "out.json"))
    assert refused.value.returncode == 2 and "SELLER_GSTIN" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_the_schema_refuses_what_the_portal_would(golden):
    returned = gstr1()
    broken = json.loads(json.dumps(returned, default=str), parse_float=Decimal)
    broken["b2b"][0]["inv"][0]["pos"] = "99"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
    broken = json.loads(json.dumps(returned, default=str), parse_float=Decimal)
    broken["b2cl"][0]["inv"][0]["idt"] = "2026-11-08"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
