"""Reading pages as a person would: the error shown next to a field, the buttons on offer."""

import html
import re

from frontend.templatetags.tessera import field_id


def field_error(response, field: str) -> str:
    """The error shown next to the form field (named by its path), or "" when there is none. The
    field must point at it (aria-describedby) and say it is invalid (aria-invalid)."""
    page = response.content.decode()
    fid = field_id(field)
    control = re.search(rf'<(?:input|select)[^>]*id="{re.escape(fid)}"[^>]*>', page)
    assert control is not None, f"no field {field} on the page"
    found = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">(.*?)</p>', page, re.S)
    if found is None:
        return ""
    assert 'aria-invalid="true"' in control.group(0) and f"{fid}-error" in control.group(0)
    return html.unescape(found.group(1))


def has_button(response, label: str) -> bool:
    """Whether the page offers a button or button-like link with this label."""
    page = response.content.decode()
    control = rf'<(button|a)[^>]*(type="submit"|class="button[^"]*")[^>]*>\s*{re.escape(label)}\b'
    return re.search(control, page) is not None
