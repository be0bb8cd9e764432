from __future__ import annotations

from fastapi import APIRouter

from partnerloop.deps import Api
from partnerloop.program import service
from partnerloop.program.schemas import ProgramOut, ProgramPatch

router = APIRouter(prefix="/api/v1", tags=["program"])


@router.get("/program", summary="Get the program")
def get_program(api: Api) -> ProgramOut:
    return service.program_out(api.program)


@router.patch("/program", summary="Change the program's settings")
def patch_program(body: ProgramPatch, api: Api) -> ProgramOut:
    return service.program_out(service.update_program(api.session, api.program, body))
