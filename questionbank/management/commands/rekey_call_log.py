"""python manage.py rekey_call_log [--accept-broken] — re-chain the log with the newest key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from questionbank.services.calllogs import ChainBroken, calllog_rekey


class Command(BaseCommand):
    help = ("Re-chain every kept call-log row, the purge checkpoints and the chain head with "
            "the newest key in QB_CALL_LOG_KEY: once after migration 0022 (rows from before "
            "were chained without a key), and after putting a new key first. The chain is "
            "checked first with every configured key (and the old unkeyed hash); a break "
            "stops the command unless --accept-broken. Writers wait while it runs.")

    def add_arguments(self, parser):
        parser.add_argument("--accept-broken", action="store_true",
                            help="Re-chain even if the chain is broken (the break is "
                                 "reported; the re-chained log then verifies).")
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args, **opts):
        try:
            result = calllog_rekey(accept_broken=opts["accept_broken"],
                                   chunk_size=max(opts["chunk_size"], 1))
        except ChainBroken as exc:
            raise CommandError(
                f"{exc.report} Nothing was changed; investigate, or re-chain anyway with "
                "--accept-broken.", returncode=1) from None
        self.stdout.write(str(result))
