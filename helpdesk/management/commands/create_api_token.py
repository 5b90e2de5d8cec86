"""Issue a workspace API key from the command line; the key is printed once and never stored."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import Actor
from helpdesk.api_tokens import api_token_create
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Create an API key acting as a member of a workspace and print it (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--user", required=True, help="Email of a member of the workspace.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'shop integration'.")
        parser.add_argument(
            "--customer",
            default="",
            help="A customer's e-mail: the key acts for that customer only (their tickets and messages, "
            "verified for them), e.g. held by your shop's backend for a signed-in customer.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        user = get_user_model().objects.filter(email__iexact=options["user"]).order_by("pk").first()
        if user is None:
            raise CommandError(f"No user with email {options['user']!r}.")
        try:
            token, key = api_token_create(
                workspace=workspace,
                user=user,
                name=options["name"],
                actor=Actor.system("manage.py create_api_token"),
                customer_email=options["customer"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(f"Created key {token.prefix}… for {user.email} in {workspace.slug}. Store it now:")
        self.stdout.write(key)
