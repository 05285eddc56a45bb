from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/", views.stores, name="stores"),
    path("stores/<str:code>/", views.store, name="store"),
    path("region/", views.region_board, name="region-board"),
    path("region/<str:table>.csv", views.region_board_export, name="region-board-export"),
]
