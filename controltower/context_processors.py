from .navigation import navigation_for


def navigation(request):
    if not request.user.is_authenticated:
        return {}
    return navigation_for(request)
