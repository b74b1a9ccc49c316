"""The loopback receivers, driven by independent clients: smtplib and urllib."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage

from exporter.demo.receivers import HttpReceiver, Mail, Request, SmtpReceiver


def test_http_receiver_records_and_answers_with_its_status() -> None:
    seen: list[Request] = []
    with HttpReceiver("pd", status=202, on_receive=seen.append) as receiver:
        request = urllib.request.Request(
            receiver.url + "/v2/enqueue", data=json.dumps({"event_action": "trigger"}).encode(),
            headers={"Content-Type": "application/json", "X-Key": "k"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert (response.status, json.loads(response.read())) == (202, {})
        (got,) = receiver.received.wait(lambda items: len(items) == 1)
    assert got.path == "/v2/enqueue"
    assert got.body == {"event_action": "trigger"}
    assert got.headers["x-key"] == "k"
    assert seen == [got]
    assert not receiver.alive()


def test_smtp_receiver_takes_a_message_from_smtplib() -> None:
    seen: list[Mail] = []
    message = EmailMessage()
    message["Subject"] = "[FIRING:1] MlmonAccuracyBelowFloor · model fraud v3"
    message["From"] = "mlmon-alerts@example.com"
    message["To"] = "ml-fraud-owners@example.com"
    message.set_content("line one\n.starts with a dot\n")
    with SmtpReceiver(on_receive=seen.append) as receiver:
        host, port = receiver.smarthost.split(":")
        with smtplib.SMTP(host, int(port), timeout=5) as client:
            client.send_message(message)
        (mail,) = receiver.received.wait(lambda items: len(items) == 1)
    assert mail.sender == "mlmon-alerts@example.com"
    assert mail.recipients == ("ml-fraud-owners@example.com",)
    assert mail.message["Subject"] == message["Subject"]
    assert mail.message.get_content() == "line one\n.starts with a dot\n"  # dot-unstuffed
    assert seen == [mail]
