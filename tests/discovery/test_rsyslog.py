"""rsyslog: legacy and RainerScript forwarding."""

from __future__ import annotations

from pathlib import Path

from tests.discovery.helpers import UDP, messages, run, urls, write


def test_rsyslog_legacy_and_rainerscript(tmp_path: Path) -> None:
    write(
        tmp_path,
        "/etc/rsyslog.d/10-forward.conf",
        """
        $IncludeConfig /etc/rsyslog.d/*.conf
        *.info;mail.none @@(o)relay.example.com:10514;RSYSLOG_ForwardFormat
        auth.* @@[2001:db8::7]
        & @@second.example.com
        /* action(type="omfwd" target="commented.example.com" protocol="tcp") */
        # *.* @@commented2.example.com
        action(type="omfwd"
               Target="tls.example.com"
               Port="6514"
               Protocol="tcp"
               StreamDriver="ossl"
               StreamDriverMode="1")
        action(type="omfwd" target=["lb1.example.com", "lb2.example.com"] protocol="tcp"
               port="1514" template="RSYSLOG_SyslogProtocol23Format")
        action(type="omrelp" target="relp.example.com" port="2514")
        action(type="omfile" file="/var/log/messages")
        $ActionSendStreamDriverMode 1
        *.* @@after-tls.example.com:6514
        mail.* @udp.example.com
    """,
    )
    result = run(tmp_path)
    assert urls(result) == [
        ("syslog-tcp", "relay.example.com:10514", 2),
        ("syslog-tcp", "[2001:db8::7]:514", 3),
        ("syslog-tcp", "second.example.com:514", 4),
        ("syslog-tls", "tls.example.com:6514", 7),
        ("syslog-tcp", "lb1.example.com:1514", 13),
        ("syslog-tcp", "lb2.example.com:1514", 13),
        ("tcp", "relp.example.com:2514", 15),
        ("syslog-tls", "after-tls.example.com:6514", 18),
    ]
    assert messages(result) == [f"UDP syslog forwarding at line 19 {UDP}"]


def test_rsyslog_unclosed_action(tmp_path: Path) -> None:
    write(tmp_path, "/etc/rsyslog.conf", 'action(type="omfwd"\n target="x.example.com"\n')
    assert messages(run(tmp_path)) == ["malformed at line 1: action( is never closed"]
