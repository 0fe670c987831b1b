from datetime import timedelta

from django.apps import apps
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import models
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Delete uploaded files no row refers to any more: a portal's logo or icon once replaced, and the rare "
        "file a process stopped before removing after its row's deletion committed. Files younger than "
        "--min-age-hours are kept, so an upload still being saved is never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-age-hours", type=int, default=24)
        parser.add_argument("--dry-run", action="store_true", help="List what would go, delete nothing.")

    def handle(self, *args, min_age_hours, dry_run, **options):
        cutoff = timezone.now() - timedelta(hours=min_age_hours)
        referenced = _referenced_files()
        orphans = [
            name
            for name in _stored_files()
            if name not in referenced and default_storage.get_modified_time(name) < cutoff
        ]
        for name in orphans:
            self.stdout.write(f"{'Would delete' if dry_run else 'Deleting'} {name}")
            if not dry_run:
                default_storage.delete(name)
        self.stdout.write(
            f"{len(orphans)} orphan file{'s' if len(orphans) != 1 else ''} {'found' if dry_run else 'deleted'}."
        )


def _referenced_files() -> set[str]:
    """Every stored name that a file field of any model holds."""
    referenced: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField) and field.storage is default_storage:
                names = model._default_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True)
                referenced.update(names.iterator())
    return referenced


def _stored_files(folder: str = ""):
    """Every file in the uploads storage (MEDIA_ROOT belongs to the portal alone); none before the first upload."""
    if not folder and not default_storage.exists(""):
        return
    subfolders, files = default_storage.listdir(folder)
    prefix = f"{folder}/" if folder else ""
    for sub in subfolders:
        yield from _stored_files(prefix + sub)
    yield from (prefix + name for name in files)
