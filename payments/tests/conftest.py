def post_webhook(client, body, headers):
    return client.post("/webhooks/razorpay/", data=body, content_type="application/json", **headers)
