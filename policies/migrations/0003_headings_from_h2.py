from django.db import migrations


def render_again(apps, schema_editor):
    """Pages saved before their highest heading became an h2 (a `##` heading was an h3 under the page's h1)."""
    from policies.markdown import render_markdown

    Policy = apps.get_model("policies", "Policy")
    for policy in Policy.objects.only("pk", "body").iterator():
        Policy.objects.filter(pk=policy.pk).update(body_html=render_markdown(policy.body))


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_help_text_without_angle_brackets")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
