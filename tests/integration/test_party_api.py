def test_customer_and_billing_account_roundtrip(client):
    r = client.post("/tmf-api/customerManagement/v4/customer", json={"name": "Ada Lovelace"})
    assert r.status_code == 201, r.text
    cust = r.json()
    assert cust["@type"] == "Customer" and cust["href"].endswith(cust["id"])
    r = client.post(
        "/tmf-api/accountManagement/v4/billingAccount",
        json={"name": "Ada main", "relatedParty": [{"id": cust["id"]}], "currency": "EUR", "country": "DE",
              "billCycleDay": 1, "timeZone": "Europe/Berlin"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["accountNumber"] == "ACC-000001"
    r = client.get("/tmf-api/customerManagement/v4/customer", params={"fields": "name"})
    assert r.headers["X-Total-Count"] == "1"
    assert r.json() == [{"id": cust["id"], "href": cust["href"], "@type": "Customer", "name": "Ada Lovelace"}]
