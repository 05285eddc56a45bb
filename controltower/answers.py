"""How every screen says no, and the one shape of a screen's action on one object.

A role that may not do something is answered 403 with the words of the rule
that refused it; an object out of the user's scope 404, worded like one that
does not exist (as the API does). An htmx request gets the fragment, swapped
into the page's alert (`target`, e.g. "#case-alert"); any other the page.

`object_action` wraps a POST on one object: the object in scope (else 404),
the form bound and checked, the domain service called, its PermissionDenied
answered 403 and its ValidationError put back on the form (400)."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_POST


class NotInScope(Exception):
    """No such object among those the user sees: answered 404, so an object
    out of scope and one that does not exist look the same."""


def _answer(request, page, fragment, message, status, target):
    if target is None or not request.htmx:
        return render(request, page, {"message": message}, status=status)
    response = render(request, fragment, {"message": message}, status=status)
    response["HX-Retarget"] = target
    response["HX-Reswap"] = "innerHTML"
    return response


def refused(request, message, target=None):
    """403: the role may not do this, in the words of the rule (a message or a PermissionDenied)."""
    if isinstance(message, Exception):
        message = message.args[0] if message.args else ""
    return _answer(request, "exceptions/refused.html", "exceptions/_refused.html", message, 403, target)


def not_found(request, message, target=None):
    """404: not something this user sees."""
    return _answer(request, "exceptions/not_found.html", "exceptions/_not_found.html", str(message), 404, target)


def add_service_errors(form, error):
    """Show a service's ValidationError on `form`: under the field it names,
    or above the form when the form has no such field. A field the form
    already refused keeps the form's own, more precise, message."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            if field in form.errors:
                continue
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def object_action(find, bind=None, *, invalid, done, target=None):
    """Wrap `do(request, obj, data) -> result` as a POST on one object.

    `find(request, pk)`: the object if the user sees it, else NotInScope (404).
    `bind(request, obj)`: the form of the POST (None: the action has no form);
    a form it refuses is answered by `invalid` without asking the service.
    The service decides the rest: PermissionDenied is answered 403 (into
    `target` for htmx), a ValidationError by `invalid(request, obj, form,
    error)` (the page again, 400), success by `done(request, obj, result)`."""
    def decorate(do):
        @login_required
        @require_POST
        @wraps(do)
        def view(request, pk):
            try:
                obj = find(request, pk)
            except NotInScope as error:
                return not_found(request, error, target)
            form = bind(request, obj) if bind is not None else None
            if form is not None and not form.is_valid():
                return invalid(request, obj, form, None)
            try:
                result = do(request, obj, form.cleaned_data if form is not None else {})
            except PermissionDenied as error:
                return refused(request, error, target)
            except ValidationError as error:
                return invalid(request, obj, form, error)
            return done(request, obj, result)
        return view
    return decorate
