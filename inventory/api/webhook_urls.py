from django.urls import path

from . import webhook_views

urlpatterns = [
    path("webhooks/shopify/<str:source_code>", webhook_views.ShopifyWebhookView.as_view(),
         name="api-webhook-shopify"),
]
