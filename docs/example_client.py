"""An API client in a page of Python (only httpx): sign up a company, wait until it is active,
create posts, read the subscription and open a billing portal session.

    python docs/example_client.py --platform-url http://localhost:8000 --slug acme

Settings come from arguments or the environment (API_PLATFORM_URL, API_CONNECT). The company's
own API lives on `<slug>.<platform domain>`. Where that name does not resolve (`*.localhost`
does in browsers but often not elsewhere), `--connect 127.0.0.1:8000` sends every request to that
address with the right `Host` header, like curl's --connect-to.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

import httpx


def api(url: str, *, connect: str | None = None, token: str | None = None) -> httpx.Client:
    """A client for one host; `connect` overrides where the requests go, not the host they name."""
    url = httpx.URL(url)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if connect:
        headers["Host"] = url.netloc.decode()
        host, _, port = connect.partition(":")
        url = url.copy_with(host=host, port=int(port) if port else None)
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def check(response: httpx.Response) -> dict:
    """The JSON body, or exit with the API's uniform error: {"code", "detail", ...}."""
    if response.is_error:
        sys.exit(f"{response.request.method} {response.request.url.path} -> {response.status_code} {response.text}")
    return response.json() if response.content else {}


def wait_until_active(platform: httpx.Client, company_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        company = check(platform.get(f"/api/companies/{company_id}/"))
        if company["status"] == "active":
            return company
        if company["status"] == "failed":
            sys.exit(f"onboarding failed: {company['failure_reason']}")
        time.sleep(1)
    sys.exit("the company did not become active in time")


def all_pages(client: httpx.Client, path: str) -> list[dict]:
    """Follow the cursor links of a list until `next` is null."""
    results, url = [], path
    while url:
        page = check(client.get(url))
        results += page["results"]
        # `next` is absolute; keep only path and query so `--connect` still applies.
        url = httpx.URL(page["next"]).raw_path.decode() if page["next"] else None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform-url", default=os.environ.get("API_PLATFORM_URL", "http://localhost:8000"))
    parser.add_argument("--connect", default=os.environ.get("API_CONNECT"), help="HOST:PORT to send requests to")
    parser.add_argument("--slug", default=f"example-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--email", default=None)
    parser.add_argument("--password", default="an example passphrase")
    args = parser.parse_args(argv)
    email = args.email or f"admin@{args.slug}.example"

    # 1. Sign up. The Idempotency-Key makes a retry after a timeout safe: same key, same company.
    with api(args.platform_url, connect=args.connect) as anonymous:
        signup = {"name": args.slug.title(), "slug": args.slug, "admin_email": email, "admin_password": args.password}
        company = check(anonymous.post("/api/companies/", json=signup, headers={"Idempotency-Key": str(uuid.uuid4())}))
        print(f"signed up {company['slug']} (id {company['id']}): {company['status']}")

        # 2. A token for the admin: shown once, so keep it (here: in memory).
        credentials = {"email": email, "password": args.password, "name": "example"}
        token = check(anonymous.post("/api/auth/token/", json=credentials))
        print(f"token {token['prefix']}… created")

    # 3. Wait for onboarding (workspace, Stripe customer, trial) to finish.
    with api(args.platform_url, connect=args.connect, token=token["key"]) as platform:
        company = wait_until_active(platform, company["id"])
        subscription = company["subscription"]
        print(f"{company['domain']} is active; plan {subscription['plan']} ({subscription['status']})")

    # 4. The company's own host, with the same token.
    scheme, port = httpx.URL(args.platform_url).scheme, httpx.URL(args.platform_url).port
    company_url = f"{scheme}://{company['domain']}" + (f":{port}" if port else "")
    with api(company_url, connect=args.connect, token=token["key"]) as tenant:
        for n in range(1, 4):
            post = check(tenant.post("/api/posts/", json={"title": f"Post {n}", "body": "Hello from the API."}))
            print(f"created post {post['id']}: {post['title']}")
        print(f"{len(all_pages(tenant, '/api/posts/?page_size=2'))} posts in all")

        subscription = check(tenant.get("/api/billing/subscription/"))
        print(f"subscription: {subscription['plan']} {subscription['status']}, features {subscription['features']}")

        portal = check(tenant.post("/api/billing/portal-session/"))
        print(f"billing portal: {portal['url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
