app_name = "tickets"

urlpatterns = []
