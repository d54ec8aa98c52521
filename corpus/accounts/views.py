from django.contrib.auth.decorators import login_required
from django.http import JsonResponse

from .tasks import export_user_data


@login_required
def export_my_data(request):
    # antipattern: model-arg-call (request.user passed to a task)
    result = export_user_data.delay(request.user)
    return JsonResponse({"task": result.id})
