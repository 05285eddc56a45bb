"""factory-boy factories of the kernel: people, their profiles and tokens."""
import factory
from django.contrib.auth import get_user_model

from controltower.models import ApiToken, Profile, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.STORE_MANAGER

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


def make_user(role, locations=(), region=None, username=None):
    """A user with a profile of `role` scoped to `locations` or `region`."""
    kwargs = {"username": username} if username else {}
    profile = ProfileFactory(user=UserFactory(**kwargs), role=role, region=region, locations=list(locations))
    return profile.user


def source_token(source):
    """Issue an API token for a source system; returns the raw key."""
    return ApiToken.issue(source=source)[1]


def person_token(user):
    """Issue an API token for a person; returns the raw key."""
    return ApiToken.issue(user=user)[1]
