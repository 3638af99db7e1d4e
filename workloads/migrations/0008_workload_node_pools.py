from django.db import migrations, models

import workloads.models


def from_requests(apps, schema_editor):
    """Workloads stored before the field keep the pools their request named, else the default
    pool, which is what they were placed by."""
    Workload = apps.get_model("workloads", "Workload")
    for workload in Workload.objects.only("pk", "spec").iterator():
        pools = (workload.spec or {}).get("spec", {}).get("nodePools") or ["default"]
        Workload.objects.filter(pk=workload.pk).update(node_pools=pools)


class Migration(migrations.Migration):
    dependencies = [
        ("workloads", "0007_workload_node_pool"),
    ]

    operations = [
        migrations.AddField(
            model_name="workload",
            name="node_pools",
            field=models.JSONField(
                default=workloads.models.only_the_default_pool,
                help_text="The node pools it may use, in order: its request's nodePools, else its project's "
                "default node pools when it was submitted.",
            ),
        ),
        migrations.RunPython(from_requests, migrations.RunPython.noop),
    ]
