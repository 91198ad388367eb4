"""`mediaplane`: sign in, upload, download, list, tag and watch files from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console, RenderableType
from rich.json import JSON
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from mediaplane.client.client import REPROCESS_TARGETS, MediaplaneClient
from mediaplane.client.config import DEFAULT_URL, ClientConfig
from mediaplane.client.credentials import CredentialStore
from mediaplane.client.download import download_file
from mediaplane.client.errors import MediaplaneError
from mediaplane.client.models import FileChange, FileSummary, TagView, UploadSummary
from mediaplane.client.signin import DeviceCode, Identity, UserInfo
from mediaplane.client.upload import default_state_path, upload_file

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediaplane", description="Upload, download, list, tag and watch mediaplane files."
    )
    parser.add_argument("--url", help=f"platform URL (env MEDIAPLANE_URL, default {DEFAULT_URL})")
    parser.add_argument("--catalog-url", help="catalog URL when apart (MEDIAPLANE_CATALOG_URL)")
    parser.add_argument(
        "--token", help="bearer JWT or personal access token mppat_... (env MEDIAPLANE_TOKEN)"
    )
    parser.add_argument(
        "--issuer", help="OpenID provider when not at --url (env MEDIAPLANE_ISSUER)"
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="sign in (device flow: approve in a browser)")
    login.add_argument(
        "--with-token",
        action="store_true",
        help="read a personal access token (mppat_...) from stdin instead, for scripts",
    )
    commands.add_parser("logout", help="revoke and forget this machine's sign-in")
    commands.add_parser("whoami", help="who the platform takes you for")

    upload = commands.add_parser("upload", help="upload a file (resumes an interrupted upload)")
    upload.add_argument("path", type=Path)
    upload.add_argument("--name", help="filename to record (default: the file's name)")
    upload.add_argument("--content-type", help="MIME type (default: guessed from the name)")
    upload.add_argument("--tag", action="append", default=[], dest="tags", help="repeatable")
    upload.add_argument("--parallel", type=_positive, default=4, help="parts at once (%(default)s)")
    upload.add_argument("--state", type=Path, help="state file (default: ~/.cache/mediaplane/...)")

    tags = commands.add_parser("tags", help="create and list tags").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    tags_create = tags.add_parser("create", help="create tags (idempotent)")
    tags_create.add_argument("names", nargs="+")
    tags_list = tags.add_parser("list", help="tags by name, with your files per tag")
    tags_list.add_argument("--limit", type=_positive, help="page size")
    tags_list.add_argument("--marker", help="start after this tag")
    tags_list.add_argument("--auto", action="store_true", help="follow every page")

    files = commands.add_parser("files", help="list, inspect, download and tag files")
    file_actions = files.add_subparsers(dest="action", required=True, metavar="ACTION")
    files_list = file_actions.add_parser("list", help="your files, newest first")
    files_list.add_argument("--tag")
    files_list.add_argument("--kind", choices=["image", "video", "audio", "pdf", "other"])
    files_list.add_argument("--status")
    files_list.add_argument("--q", help="filename contains")
    files_list.add_argument("--limit", type=_positive, help="page size")
    files_list.add_argument("--cursor")
    files_list.add_argument("--auto", action="store_true", help="follow every page")
    files_get = file_actions.add_parser("get", help="a file with its URLs")
    files_get.add_argument("file_id", type=uuid.UUID)
    files_download = file_actions.add_parser("download", help="download (resumes a .part file)")
    files_download.add_argument("file_id", type=uuid.UUID)
    files_download.add_argument("-o", "--output", type=Path, help="file or directory")
    files_tag = file_actions.add_parser("tag", help="replace a file's tags")
    files_tag.add_argument("file_id", type=uuid.UUID)
    files_tag.add_argument("tags", nargs="*")

    uploads = commands.add_parser("uploads", help="your upload sessions").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    uploads_list = uploads.add_parser("list", help="upload sessions, newest first")
    uploads_list.add_argument("--status", choices=["open", "completed", "aborted", "expired"])
    uploads_list.add_argument("--limit", type=_positive, help="page size")
    uploads_list.add_argument("--cursor")

    commands.add_parser("watch", help="print live changes of your files (Ctrl-C stops)")

    files_report = file_actions.add_parser("report", help="report a file to the moderators")
    files_report.add_argument("file_id", type=uuid.UUID)
    files_report.add_argument("reason")

    moderation = commands.add_parser("moderation", help="the report queue (role moderator)")
    moderate = moderation.add_subparsers(dest="action", required=True, metavar="ACTION")
    reports = moderate.add_parser("reports", help="reports, oldest first")
    reports.add_argument("--status", choices=["open", "dismissed", "actioned"], default="open")
    reports.add_argument("--file-id", type=uuid.UUID)
    reports.add_argument("--cursor")
    moderate.add_parser("offenders", help="owners by files taken down, then reports")
    for name, text in (("takedown", "take a file down"), ("restore", "restore a file")):
        decision = moderate.add_parser(name, help=text)
        decision.add_argument("file_id", type=uuid.UUID)
        decision.add_argument("reason")
    dismiss = moderate.add_parser("dismiss", help="dismiss one open report")
    dismiss.add_argument("file_id", type=uuid.UUID)
    dismiss.add_argument("report_id", type=uuid.UUID)
    dismiss.add_argument("--note", default="")

    admin = commands.add_parser("admin", help="the admin console (role admin)")
    administer = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    admin_files = administer.add_parser("files", help="every owner's files, with filters")
    for option in ("--owner", "--kind", "--status", "--since", "--until", "--cursor"):
        admin_files.add_argument(option)
    admin_files.add_argument("--min-size", type=int)
    admin_files.add_argument("--max-size", type=int)
    admin_files.add_argument("--failed", action="store_true", default=None)
    admin_files.add_argument("--taken-down", action="store_true", default=None)
    administer.add_parser("usage", help="storage, plan and status per user").add_argument("--owner")
    administer.add_parser("processing", help="jobs by status per service, failures")
    audit = administer.add_parser("audit", help="who did what, when (from the events)")
    for option in ("--type", "--actor", "--subject", "--since", "--until", "--cursor"):
        audit.add_argument(option)
    audit.add_argument("--file-id", type=uuid.UUID)
    administer.add_parser("storage", help="bytes per bucket and kind").add_argument(
        "--days", type=_positive, default=30
    )
    history = administer.add_parser(
        "usage-history", help="uploads and stored bytes per day (one user's, or all)"
    )
    history.add_argument("--owner")
    history.add_argument("--days", type=_positive, default=30)
    quota = administer.add_parser(
        "quota", help="set a user's own quota (a field left out follows the plan's)"
    )
    quota.add_argument("user_id", type=uuid.UUID)
    quota.add_argument("--files", type=_count, help="live files and uploads in progress")
    quota.add_argument("--bytes", type=_count, help="bytes of originals")
    quota.add_argument(
        "--plan", action="store_true", help="back to the plan's quota (clears the override)"
    )
    reprocess = administer.add_parser(
        "reprocess", help="make a file's thumbnails, renditions or variants again"
    )
    reprocess.add_argument("file_id", type=uuid.UUID)
    reprocess.add_argument(
        "--target",
        choices=REPROCESS_TARGETS,
        default="thumbnails",
        help="thumbnails and transcode are made again (the old ones removed), variants are "
        "dropped and made again on their next request (default: %(default)s)",
    )

    mail = administer.add_parser(
        "mail", help="mail that failed for good (or still waits), newest first; never its body"
    )
    mail.add_argument("--state", choices=["failed", "pending"], default="failed")
    mail.add_argument("--limit", type=_positive, help="page size")
    mail.add_argument("--cursor")
    dlq = administer.add_parser("dlq", help="dead letters: list, show, redrive, discard")
    dlq_actions = dlq.add_subparsers(dest="dlq_action", required=True, metavar="DLQ_ACTION")
    dlq_list = dlq_actions.add_parser("list", help="dead letters, oldest first")
    dlq_redrive = dlq_actions.add_parser(
        "redrive", help="publish again on the original subject (by sequence, or --all matching)"
    )
    for matching in (dlq_list, dlq_redrive):
        matching.add_argument("--consumer", help="a consumer name or its prefix (a service)")
        matching.add_argument("--subject", help="the original subject (NATS wildcards)")
        matching.add_argument("--reason", help="text in the reason")
        matching.add_argument("--after", type=int, default=0, help="a page's next_after")
        matching.add_argument("--limit", type=_positive)
    dlq_actions.add_parser("show", help="one dead letter, payload included").add_argument(
        "sequence", type=_positive
    )
    dlq_redrive.add_argument("sequences", nargs="*", type=_positive)
    dlq_redrive.add_argument("--all", action="store_true", help="every matching dead letter")
    dlq_discard = dlq_actions.add_parser("discard", help="drop dead letters unhandled")
    dlq_discard.add_argument("sequences", nargs="+", type=_positive)
    dlq_discard.add_argument("--note", default="", help="why (for the audit log)")

    token = commands.add_parser("token", help="a development token (gateway in dev mode)")
    token.add_argument("--sub", default=_user(), help="owner id (default: %(default)s)")
    token.add_argument("--admin", action="store_true", help="with the admin role")
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _user() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "dev"


class _Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, value: Any) -> None:
        # Plain print: rich would wrap or colour what scripts parse.
        print(msgspec.json.encode(value).decode(), flush=True)

    def result(self, value: Any, human: RenderableType) -> None:
        """`value` as JSON with --json, else the human rendering."""
        if self.as_json:
            self.json(value)
        else:
            self.out.print(human)


class _Bar:
    """Draws `mediaplane.client.progress.Progress` reports as one rich progress bar."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task: TaskID | None = None

    def start(self, phase: str, total: int, completed: int = 0) -> None:
        description = f"{phase} {self._label}"
        if self._task is None:
            self._task = self._progress.add_task(description, total=total, completed=completed)
        else:
            self._progress.reset(
                self._task, total=total, completed=completed, description=description
            )

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _config(args: argparse.Namespace, env: Mapping[str, str]) -> ClientConfig:
    base = ClientConfig.from_env(env)
    return dataclasses.replace(
        base,
        url=args.url or base.url,
        catalog_url=args.catalog_url or base.catalog_url,
        token=args.token or base.token,
        issuer=args.issuer or base.issuer,
    )


async def run(argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    """Runs one command; the exit status. (`main` adds Ctrl-C handling around it.)"""
    args = build_parser().parse_args(argv)
    return await execute(args, _config(args, env))


async def execute(args: argparse.Namespace, config: ClientConfig) -> int:
    output = _Output(args.json)
    try:
        async with Identity(
            config.issuer_url, config.client_id, CredentialStore(config.credentials_path)
        ) as identity:
            if args.command in ("login", "logout", "whoami"):
                await _account(args, identity, config, output)
                return 0
            async with MediaplaneClient(
                config.url, identity.source(config.token), catalog_url=config.catalog_url
            ) as client:
                await _dispatch(args, client, output)
    except MediaplaneError as error:
        output.err.print(f"[red]error:[/] {escape(str(error))}", markup=True)
        for hint in _hints(args, config, error):
            output.err.print(hint, markup=False)
        return EXIT_ERROR
    return 0


def _hints(args: argparse.Namespace, config: ClientConfig, error: MediaplaneError) -> list[str]:
    hints = []
    if error.code == "connection_failed" and args.command in ("login", "logout", "whoami"):
        hints.append(f"is the identity provider up at {config.issuer_url}? (MEDIAPLANE_ISSUER)")
    elif error.code == "connection_failed":
        hints.append(f"is the platform up at {config.url}? (`just up`, or set MEDIAPLANE_URL)")
    if error.code == "unauthorized":
        hints.append(
            "sign in with `mediaplane login`, or set MEDIAPLANE_TOKEN to a bearer JWT or a"
            " personal access token (`mediaplane token` in development)"
        )
    if args.command == "upload" and _state_path(args, config).exists():
        hints.append("the upload can resume: rerun the same command")
    if args.command == "token" and error.status in (404, 405):
        hints.append(
            "this gateway issues no development tokens: run it with MEDIAPLANE_DEV_MODE=1, or "
            "mint one where the JWT secret is known (`python -m mediaplane.servicekit token`), "
            "then `export MEDIAPLANE_TOKEN=<token>`"
        )
    return hints


def _state_path(args: argparse.Namespace, config: ClientConfig) -> Path:
    state: Path | None = args.state
    return state or default_state_path(config.url, args.path)


async def _dispatch(args: argparse.Namespace, client: MediaplaneClient, output: _Output) -> None:
    match args.command, getattr(args, "action", None):
        case "upload", _:
            await _upload(args, client, output)
        case "tags", "create":
            results = await client.create_tags(args.names)
            table = Table("tag", "result", box=None)
            for result in results:
                table.add_row(result.name, "created" if result.created else "exists")
            output.result(results, table)
        case "tags", "list":
            await _tags(args, client, output)
        case "files", "list":
            await _files(args, client, output)
        case "files", "get":
            detail = await client.get_file(args.file_id)
            output.result(detail, JSON(msgspec.json.encode(detail).decode()))
        case "files", "download":
            await _download(args, client, output)
        case "files", "tag":
            tagged = await client.set_file_tags(args.file_id, args.tags)
            output.result(tagged, " ".join(tagged.tags))
        case "uploads", "list":
            page = await client.list_uploads(
                status=args.status, limit=args.limit, cursor=args.cursor
            )
            if output.as_json:
                output.json(page)
            else:
                output.out.print(_uploads_table(page.items))
                _more(output, "--cursor", page.next_cursor)
        case "files", "report":
            report = await client.report_file(args.file_id, args.reason)
            output.result(report, f"reported: {report['report_id']}")
        case "moderation" | "admin", _:
            await _console(args, client, output)
        case "watch", _:
            await _watch(client, output)
        case "token", _:
            token = await client.dev_token(args.sub, admin=args.admin)
            # Bare on stdout, for `export MEDIAPLANE_TOKEN=$(mediaplane token)`.
            if output.as_json:
                output.json({"token": token})
            else:
                print(token)
        case _:
            raise AssertionError(f"unhandled command {args.command} {args.action}")


async def _console(args: argparse.Namespace, client: MediaplaneClient, output: _Output) -> None:
    """Moderation and admin commands: queries print their JSON answer."""
    result: Any
    match args.command, args.action:
        case "moderation", "reports":
            result = await client.console(
                "moderation/reports", status=args.status, file_id=args.file_id, cursor=args.cursor
            )
        case "moderation", "offenders":
            result = await client.console("moderation/offenders")
        case "moderation", "takedown" | "restore":
            result = await client.moderate(args.file_id, args.action, args.reason)
        case "moderation", "dismiss":
            result = await client.dismiss_report(args.file_id, args.report_id, args.note)
        case "admin", "files":
            result = await client.console(
                "admin/files",
                owner=args.owner,
                kind=args.kind,
                status=args.status,
                min_size=args.min_size,
                max_size=args.max_size,
                since=args.since,
                until=args.until,
                failed=args.failed,
                taken_down=args.taken_down,
                cursor=args.cursor,
            )
        case "admin", "usage":
            result = await client.console("admin/usage", owner=args.owner)
        case "admin", "processing":
            result = await client.console("admin/processing")
        case "admin", "audit":
            result = await client.console(
                "admin/audit",
                type=args.type,
                actor=args.actor,
                subject=args.subject,
                file_id=args.file_id,
                since=args.since,
                until=args.until,
                cursor=args.cursor,
            )
        case "admin", "storage":
            result = await client.console("admin/storage", days=args.days)
        case "admin", "usage-history":
            result = await client.console("admin/usage/history", owner=args.owner, days=args.days)
        case "admin", "quota":
            fields = args.files is not None or args.bytes is not None
            if args.plan == fields:
                raise MediaplaneError(
                    "invalid_request", 0, "give --files and/or --bytes, or --plan alone"
                )
            await client.set_quota(args.user_id, files=args.files, bytes=args.bytes)
            result = {"user_id": str(args.user_id), "files": args.files, "bytes": args.bytes}
        case "admin", "mail":
            result = await client.admin_mail(state=args.state, limit=args.limit, cursor=args.cursor)
        case "admin", "dlq":
            result = await _dead_letters(args, client)
        case "admin", "reprocess":
            await client.reprocess(args.file_id, args.target)
            result = {"file_id": str(args.file_id), "target": args.target, "requested": True}
        case _:
            raise AssertionError(f"unhandled command {args.command} {args.action}")
    output.result(result, JSON(msgspec.json.encode(result).decode()))


async def _dead_letters(args: argparse.Namespace, client: MediaplaneClient) -> Any:
    """`admin dlq ...`: docs/runbooks/dlq.md's steps through the gateway's admin API."""
    match args.dlq_action:
        case "list":
            return await client.dead_letters(
                consumer=args.consumer,
                subject=args.subject,
                reason=args.reason,
                after=args.after,
                limit=args.limit,
            )
        case "show":
            return await client.dead_letter(args.sequence)
        case "redrive" if args.all == bool(args.sequences):
            raise SystemExit("admin dlq redrive: name DLQ sequences or pass --all (not both)")
        case "redrive" if args.all:
            return await client.redrive_dead_letters(
                consumer=args.consumer,
                subject=args.subject,
                reason=args.reason,
                after=args.after,
                limit=args.limit,
            )
        case "redrive":
            return {"redriven": [await client.redrive_dead_letter(n) for n in args.sequences]}
        case "discard":
            for sequence in args.sequences:
                await client.discard_dead_letter(sequence, args.note)
            return {"discarded": args.sequences}
    raise AssertionError(f"unhandled dlq action {args.dlq_action}")


async def _account(
    args: argparse.Namespace, identity: Identity, config: ClientConfig, output: _Output
) -> None:
    """login, logout, whoami. Tokens are never printed: they go to the credential store."""
    match args.command:
        case "login" if args.with_token:
            secret = sys.stdin.readline().strip()
            if not secret:
                raise MediaplaneError("invalid_request", 0, "no token on stdin")
            await identity.sign_in_with_personal_access_token(secret)
            _signed_in(output, identity.issuer, await identity.userinfo())
        case "login":
            code = await identity.start_device_flow()
            _show_device_code(output, code)
            await identity.finish_device_flow(code)
            _signed_in(output, identity.issuer, await identity.userinfo())
        case "logout":
            forgot = await identity.logout()
            message = "signed out" if forgot else "was not signed in"
            output.result({"signed_out": forgot}, f"{message} of {identity.issuer}")
        case "whoami":
            info = await identity.userinfo(config.token)
            output.result(info, _who(info))


def _show_device_code(output: _Output, code: DeviceCode) -> None:
    if output.as_json:
        output.json(
            {
                "verification_uri": code.verification_uri,
                "verification_uri_complete": code.verification_uri_complete,
                "user_code": code.user_code,
                "expires_in": code.expires_in,
            }
        )
    output.err.print(
        f"To sign in, open {code.verification_uri}\nand enter the code: {code.user_code}",
        markup=False,
    )
    if code.verification_uri_complete:
        output.err.print(f"(or open {code.verification_uri_complete})", markup=False)
    output.err.print(
        f"Waiting for approval (the code expires in {code.expires_in // 60} minutes)...",
        markup=False,
    )


def _signed_in(output: _Output, issuer: str, info: UserInfo) -> None:
    output.result(info, f"signed in to {issuer}\n{_who(info)}")


def _who(info: UserInfo) -> str:
    lines = [f"sub    {info.sub}"]
    if info.email:
        verified = "" if info.email_verified else " (not verified)"
        lines.append(f"email  {info.email}{verified}")
    lines.append(f"roles  {', '.join(info.roles) or '-'}")
    lines.append(f"plan   {info.plan or '-'}")
    return "\n".join(lines)


async def _upload(args: argparse.Namespace, client: MediaplaneClient, output: _Output) -> None:
    path: Path = args.path
    with _progress(output.err) as progress:
        completion = await upload_file(
            client,
            path,
            filename=args.name,
            content_type=args.content_type,
            tags=args.tags,
            parallel=args.parallel,
            state_path=args.state,
            progress=_Bar(progress, path.name),
        )
    output.result(
        completion,
        f"uploaded {path.name}: file {completion.file_id} "
        f"({completion.size} bytes, {completion.status})",
    )


async def _download(args: argparse.Namespace, client: MediaplaneClient, output: _Output) -> None:
    with _progress(output.err) as progress:
        saved = await download_file(
            client,
            args.file_id,
            args.output,
            progress=_Bar(progress, str(args.file_id)),
        )
    output.result({"path": str(saved)}, f"saved {saved}")


async def _tags(args: argparse.Namespace, client: MediaplaneClient, output: _Output) -> None:
    if args.auto:
        items = [tag async for tag in client.iter_tags(limit=args.limit)]
        output.result(items, _tags_table(items))
        return
    page = await client.list_tags(limit=args.limit, marker=args.marker)
    if output.as_json:
        output.json(page)
        return
    output.out.print(_tags_table(page.items))
    _more(output, "--marker", page.next_marker)


async def _files(args: argparse.Namespace, client: MediaplaneClient, output: _Output) -> None:
    filters = {"tag": args.tag, "kind": args.kind, "status": args.status, "q": args.q}
    if args.auto:
        items = [item async for item in client.iter_files(**filters, limit=args.limit)]
        output.result(items, _files_table(items))
        return
    page = await client.list_files(**filters, limit=args.limit, cursor=args.cursor)
    if output.as_json:
        output.json(page)
        return
    output.out.print(_files_table(page.items))
    _more(output, "--cursor", page.next_cursor)


async def _watch(client: MediaplaneClient, output: _Output) -> None:
    output.err.print("watching changes of your files (Ctrl-C stops)")
    async for change in client.watch():
        if output.as_json:
            output.json(change)
        elif isinstance(change, FileChange):
            output.out.print(
                f"{change.updated_at}  {change.file_id}  {change.status}"
                f"  transcode={change.transcode_status or '-'}"
                f"  thumbnail={change.thumbnail_status or '-'}"
            )
        else:
            output.err.print("some changes were missed: list the files again to catch up")


def _more(output: _Output, option: str, value: str | None) -> None:
    if value is not None:
        output.err.print(f"more: {option} {value}  (or --auto for every page)", markup=False)


def _id_column(name: str) -> Column:
    # Ids are what users copy into the next command: never shortened with an ellipsis.
    return Column(name, no_wrap=True, min_width=36)


def _tags_table(items: Sequence[TagView]) -> Table:
    table = Table("tag", "files", box=None)
    for item in items:
        table.add_row(item.name, str(item.files))
    return table


def _files_table(items: Sequence[FileSummary]) -> Table:
    table = Table(
        _id_column("file_id"), "filename", "size", "kind", "status", "tags", "created", box=None
    )
    for item in items:
        table.add_row(
            str(item.file_id),
            item.filename,
            str(item.size),
            item.kind or "-",
            item.status,
            ",".join(item.tags),
            item.created_at.isoformat(timespec="seconds"),
        )
    return table


def _uploads_table(items: Sequence[UploadSummary]) -> Table:
    table = Table(
        _id_column("session_id"),
        _id_column("file_id"),
        "filename",
        "size",
        "mode",
        "status",
        box=None,
    )
    for item in items:
        table.add_row(
            str(item.session_id),
            str(item.file_id),
            item.filename,
            str(item.size),
            item.mode,
            item.status,
        )
    return table


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    config = _config(args, os.environ)
    try:
        code = asyncio.run(execute(args, config))
    except KeyboardInterrupt:
        # The upload's state file and the download's .part file stay: rerunning continues.
        resumable = args.command == "upload" or getattr(args, "action", None) == "download"
        hint = "; rerun the same command to resume" if resumable else ""
        print(f"interrupted{hint}", file=sys.stderr)
        code = EXIT_INTERRUPTED
    sys.exit(code)
