from django.utils.functional import SimpleLazyObject

from controltower.navigation import landing_for
from controltower.scoping import role_of

from . import mywork


def my_work(request):
    """`my_work` (read only if a page shows it) and whether this page is the
    person's landing, where base.html shows it."""
    if not request.user.is_authenticated:
        return {}
    match = request.resolver_match
    here = match is not None and match.url_name == (landing_for(role_of(request.user)) or "home")
    return {"my_work": SimpleLazyObject(lambda: mywork.of_request(request)), "my_work_here": here}
