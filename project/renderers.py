"""DRF renderers of the project."""

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API under the Content-Security-Policy.

    Its scripts are all files, but its pages carry inline styles (the code highlighter's colours,
    style attributes on two menus) that cannot be moved without copying DRF's templates. The pages
    it renders, and only those, also allow inline styles; scripts stay files only.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [UNSAFE_INLINE]}  # read by django-csp's middleware
        return super().render(data, accepted_media_type, renderer_context)
