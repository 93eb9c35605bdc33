#!/usr/bin/env python3
"""A real SMTP server for the e-mail tests, on loopback (aiosmtpd).

Saves every message it takes as one JSON file in --dir (written to a
temporary name, then renamed, so a reader never sees half a file): the
envelope, the headers the tests check, the plain-text and HTML parts as
decoded, and the raw message. With --user and --password-file it requires
AUTH (PLAIN or LOGIN) with those credentials before MAIL and refuses
everything else. With --tls-cert and --tls-key it speaks TLS: STARTTLS,
required before MAIL (--tls starttls), or TLS from the first byte
(--tls implicit). With --refuse-recipients it refuses every recipient
(550 at RCPT), as a server does a mailbox it does not know. Prints "listening on 127.0.0.1:PORT" once it accepts
connections, then serves until killed.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


class Saver:
    """Writes each message it is handed to a file of its own."""

    def __init__(self, directory, refuse_recipients=False):
        self.directory = directory
        self.count = 0
        self.refuse_recipients = refuse_recipients

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "authenticated": bool(session.authenticated),
            # STARTTLS sets session.ssl; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "subject": str(message.get("Subject", "")),
            "from": str(message.get("From", "")),
            "to": [str(a) for a in message.get_all("To", [])],
            "message_id": str(message.get("Message-ID", "")),
            "content_type": message.get_content_type(),
            "text": plain.get_content() if plain is not None else None,
            "html": html.get_content() if html is not None else None,
            "raw": raw.decode("utf-8", "replace"),
        }
        name = os.path.join(self.directory, f"{os.getpid()}-{self.count:05d}")
        with open(name + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name + ".json")
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            getattr(auth_data, "login", None) == user.encode()
            and getattr(auth_data, "password", None) == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    # AUTH without TLS on loopback is the point of the AUTH test; quiet the
    # library's warnings about it.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password-file")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--refuse-recipients", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    handler = Saver(args.dir, args.refuse_recipients)
    options = {}
    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.tls == "starttls":
        options.update({"tls_context": context, "require_starttls": True})
    if args.user:
        with open(args.password_file, encoding="utf-8") as f:
            password = f.read().rstrip("\r\n")
        options.update({
            "authenticator": authenticator(args.user, password),
            "auth_required": True,
            # Loopback only, in a test: AUTH without TLS is what is tested.
            "auth_require_tls": False,
        })
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **options),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.tls == "implicit" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
