"""The admin's form for a portal's look: colours picked as colours, images chosen among the kinds we take."""

from django import forms

from portal_auth.models import Portal


class ColourInput(forms.TextInput):
    # The browser's colour picker, which always submits "#rrggbb"; the contrast rule is Portal.clean's.
    input_type = "color"


class PortalAdminForm(forms.ModelForm):
    class Meta:
        model = Portal
        # The admin adds the fields of its fieldsets; these are the ones this form shapes.
        fields = ["accent_colour", "accent_text_colour", "logo", "favicon"]
        widgets = {
            "accent_colour": ColourInput,
            "accent_text_colour": ColourInput,
            "logo": forms.ClearableFileInput(attrs={"accept": ".png,.jpg,.jpeg,.webp"}),
            "favicon": forms.ClearableFileInput(attrs={"accept": ".png,.ico"}),
        }

    def _clean_colour(self, name: str) -> str:
        # One spelling per colour, so the theme's address changes only when the colour does.
        return self.cleaned_data[name].lower()

    def clean_accent_colour(self) -> str:
        return self._clean_colour("accent_colour")

    def clean_accent_text_colour(self) -> str:
        return self._clean_colour("accent_text_colour")
