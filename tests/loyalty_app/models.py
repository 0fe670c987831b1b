from django.db import models

from portal_auth.models import Organisation


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    programme = models.CharField(max_length=100)
    points = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "email", "programme"], name="loyalty_one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.programme}: {self.points} points"
