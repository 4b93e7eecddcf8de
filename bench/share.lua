-- wrk script: POST /api/v1/share with a small form body, as OTS clients send it.
wrk.method = "POST"
wrk.body = "secret=benchmark-secret-value&ttl=60"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
