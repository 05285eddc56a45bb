from .navigation import navigation_for


def navigation(request):
    return navigation_for(request.user) if request.user.is_authenticated else {}
