"""A page's form fields are named by their path in the API's request body; the pages turn them
into that body and place the API's errors next to the field that caused them."""

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from accounts.errors import Invalid
from frontend.forms import errors_of, request_body


def test_fields_named_by_path_become_the_apis_nested_body():
    form = QueryDict(mutable=True)
    form.update({"name": "vision", "resources[0].nodePool.id": "3", "resources[0].gpu.deserved": "1.5",
                 "resources[0].gpu.limit": "", "resources[1].gpu.deserved": "2", "_page_control": "x"})  # fmt: skip

    body = request_body(form)

    assert body == {
        "name": "vision",
        "resources": [{"nodePool": {"id": "3"}, "gpu": {"deserved": 1.5}}, {"gpu": {"deserved": 2}}],
    }


def test_a_number_field_that_does_not_read_as_a_number_stays_text_for_the_api_to_refuse():
    assert request_body(QueryDict("resources[0].gpu.deserved=two"))["resources"][0]["gpu"]["deserved"] == "two"
    assert request_body(QueryDict("name=123")) == {"name": "123"}  # not a number field: stays a string


def test_errors_land_on_the_field_of_their_path_or_on_the_form():
    fields = ["name", "resources[0].nodePool.id", "resources[0].gpu.deserved", "resources[0].gpu.limit"]
    refused = ValidationError({"name": ["Must be lower-case."], "resources": [{"nodePool": ["No such pool."]}]})

    assert errors_of(refused, fields) == {
        "name": ["Must be lower-case."],
        "resources[0].nodePool.id": ["No such pool."],
    }
    assert errors_of(Invalid("resources[0].gpu.limit: must be -1 or more."), fields) == {
        "resources[0].gpu.limit": ["must be -1 or more."]
    }
    assert errors_of(Invalid("name must be lower-case."), fields) == {"name": ["name must be lower-case."]}
    assert errors_of(Invalid("Something else went wrong."), fields) == {"": ["Something else went wrong."]}
