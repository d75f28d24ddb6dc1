"""``anomaly alerts test`` says per URL whether the test message arrived; ``anomaly run`` reports
undelivered alerts without failing."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from anomaly.cli import main
from anomaly.exit_codes import EXIT_DELIVERY_FAILED, EXIT_ERROR, EXIT_OK
from tests.alerts.conftest import Mailbox, Webhook, alerting_config, mail_text, spiky_csv
from tests.production.conftest import write_toml


def _config_file(tmp_path: Path, urls: list[str]) -> Path:
    path = tmp_path / "pipeline.toml"
    lines = ['name = "plant-7"', "[source]", 'path = "s.csv"']
    if urls:
        lines += ["[alerts]", f"urls = {json.dumps(urls)}", 'dashboard_url = "http://dash.test:8501/"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _down_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"json://127.0.0.1:{probe.getsockname()[1]}/down"


def test_alerts_test_reports_each_url_and_fails_when_one_does(
    tmp_path, capsys, webhook: Webhook, mailbox: Mailbox
):
    down = _down_url()
    config = _config_file(tmp_path, [webhook.url(), mailbox.url, down])

    assert main(["alerts", "test", str(config)]) == EXIT_DELIVERY_FAILED

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"ok      {webhook.url()}"
    assert lines[1].startswith("ok      mailto://127.0.0.1:")
    assert lines[2].startswith(f"FAILED  {down}: ") and "Connection error" in lines[2]
    assert len(lines) == 3
    assert [p["title"] for p in webhook.received] == ["[plant-7] Test alert"]
    assert "http://dash.test:8501/" in webhook.received[0]["message"]
    (mail,) = mailbox.messages
    assert mail["Subject"] == "[plant-7] Test alert" and "plant-7" in mail_text(mail)


def test_alerts_test_succeeds_when_every_url_accepts(tmp_path, capsys, webhook: Webhook):
    assert (
        main(["alerts", "test", str(_config_file(tmp_path, [webhook.url("a"), webhook.url("b")]))]) == EXIT_OK
    )
    assert capsys.readouterr().out.splitlines() == [
        f"ok      {webhook.url('a')}",
        f"ok      {webhook.url('b')}",
    ]
    assert sorted(p["path"] for p in webhook.received) == ["/a", "/b"]


def test_alerts_test_without_urls_is_a_config_error(tmp_path, capsys):
    assert main(["alerts", "test", str(_config_file(tmp_path, []))]) == EXIT_ERROR
    assert "no [alerts] urls configured" in capsys.readouterr().err


def test_a_run_whose_alerts_cannot_be_delivered_succeeds_and_says_so(tmp_path, capsys, database_url):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[_down_url()])

    assert main(["run", str(write_toml(config, tmp_path / "p.toml"))]) == EXIT_OK

    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("alerts:")]
    assert line.startswith("alerts: 0 message(s) sent, 1 failed; ")
    assert "alert(s) undelivered, last error: json://127.0.0.1:" in line and "Connection error" in line
