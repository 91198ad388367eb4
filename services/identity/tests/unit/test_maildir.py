"""The Maildir sink that local runs and tests send mail to."""

from __future__ import annotations

import asyncio
import mailbox
import threading
from pathlib import Path

from mediaplane.identity.adapters.mail import MaildirMailer


def test_processes_starting_at_once_share_one_maildir(tmp_path: Path) -> None:
    """The API and the relay both open the sink as they start: neither may fail because
    the other made the folder first (it did, with `Maildir(create=True)`)."""
    failures: list[BaseException] = []
    for attempt in range(30):
        path = tmp_path / f"maildir-{attempt}"
        start = threading.Barrier(8)

        def open_sink(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                MaildirMailer(path)
            except BaseException as error:  # every failure is the finding
                failures.append(error)

        threads = [threading.Thread(target=open_sink) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_a_mail_lands_in_new_even_in_an_empty_folder_made_beforehand(tmp_path: Path) -> None:
    path = tmp_path / "maildir"
    path.mkdir()  # made by an operator or a mount, without Maildir's subfolders

    asyncio.run(MaildirMailer(path).send(to="a@example.org", subject="Hello", body="Hi"))

    [message] = list(mailbox.Maildir(path, create=False))
    assert message["To"] == "a@example.org"
    assert message["Subject"] == "Hello"
