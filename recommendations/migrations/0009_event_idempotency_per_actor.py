# Client event ids become unique per actor (user, or anonymous session) instead of over the whole store.
# Existing rows are kept as they are: ids unique over the store are unique per actor too.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('recommendations', '0008_impression_index_trim'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The per-actor indexes first, so ids are never unprotected between the two steps.
        migrations.AddConstraint(
            model_name='event',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('client_event_id', 'user'), name='event_user_client_id_uniq'),
        ),
        migrations.AddConstraint(
            model_name='event',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', True)), fields=('client_event_id', 'session_key'), name='event_session_client_id_uniq'),
        ),
        migrations.AlterField(
            model_name='event',
            name='client_event_id',
            field=models.CharField(max_length=64),
        ),
    ]
