"""The variants API: a variant of a file by preset or signed spec, and signing specs (admins)."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_302_FOUND

from mediaplane.contracts import EventContext
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.principal import provide_principal
from mediaplane.servicekit.problems import PROBLEM_JSON, ProblemDetails
from mediaplane.thumbnailer.app.variants import VariantService
from mediaplane.thumbnailer.config import SERVICE
from mediaplane.thumbnailer.domain.variant_spec import (
    SpecPolicy,
    SpecSigner,
    parse_spec,
)

Req = Request[Any, Any, Any]
# The redirect names a URL that serves one whole UTC day (and lives longer): a browser
# may keep the redirect for an hour, never a shared cache (it was answered to a caller).
_REDIRECT_CACHE = "private, max-age=3600"


class Forbidden(ProblemError):
    code = "forbidden"
    status = 403
    title = "Admins only"


class SigningDisabled(ProblemError):
    code = "variant_signing_disabled"
    status = 409
    title = "Signed variant specs are not enabled"


class SignRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    spec: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class SignedSpec(msgspec.Struct, kw_only=True):
    spec: str  # the normal form (what was signed)
    signature: str
    path: str  # to append to `/v1/files/<file_id>/`


def provide_variants(request: Req) -> VariantService:
    variants: VariantService = request.app.state.variants
    return variants


def provide_policy(request: Req) -> SpecPolicy:
    policy: SpecPolicy = request.app.state.spec_policy
    return policy


def _cause(request: Req) -> EventContext:
    state = request.scope["state"]
    return EventContext(
        producer=SERVICE, correlation_id=state["correlation_id"], causation_id=state["request_id"]
    )


_DEPENDENCIES = {
    "principal": Provide(provide_principal),
    "variants": Provide(provide_variants, sync_to_thread=False),
    "policy": Provide(provide_policy, sync_to_thread=False),
}


class VariantController(Controller):
    path = "/v1"
    tags = ["variants"]
    dependencies = _DEPENDENCIES
    opt = {"scope": "files:read"}  # checked by servicekit `admit`, as the catalog's reads

    @get(
        "/files/{file_id:uuid}/variants/{spec:str}",
        summary="A variant of the file: a redirect to its (immutable, cacheable) bytes",
        status_code=HTTP_302_FOUND,
        responses={
            302: ResponseSpec(
                data_container=None,
                description="`Location`: a presigned URL of the variant, the same all UTC day",
            ),
            # The source cannot give this variant (its recorded failure code).
            **{
                status: ResponseSpec(
                    data_container=ProblemDetails,
                    media_type=PROBLEM_JSON,
                    description=HTTPStatus(status).phrase,
                    generate_examples=False,
                )
                for status in (409, 410, 422)
            },
        },
    )
    async def variant(
        self,
        request: Req,
        file_id: FromPath[uuid.UUID],
        spec: Annotated[
            str,
            PathParameter(
                max_length=100,
                description="a preset name, or `<fit|fill|crop>-<w>x<h>[-<center|smart>]"
                "[-q<1..100>][-t<seconds>][-wm].<jpeg|png|webp|avif>` with `?sig=`",
            ),
        ],
        principal: NamedDependency[Principal],
        variants: NamedDependency[VariantService],
        policy: NamedDependency[SpecPolicy],
        sig: Annotated[
            str | None,
            QueryParameter(max_length=64, description="the API's signature of a spec"),
        ] = None,
    ) -> Response[None]:
        wanted = policy.resolve(spec, sig)
        link = await variants.variant(principal, file_id, wanted, cause=_cause(request))
        return Response(
            None,
            status_code=HTTP_302_FOUND,
            headers={
                "Location": link.url,
                "Cache-Control": _REDIRECT_CACHE,
                "Variant-Spec": link.spec,
                "Variant-Size": f"{link.width}x{link.height}",
                "Variant-Cache": "miss" if link.generated else "hit",
            },
        )

    @post("/variants/signatures", summary="Sign a variant spec (admins)", status_code=200)
    async def sign(
        self,
        data: JSONBody[SignRequest],
        principal: NamedDependency[Principal],
        policy: NamedDependency[SpecPolicy],
    ) -> SignedSpec:
        if not principal.admin:
            raise Forbidden("only admins sign variant specs")
        if policy.signer is None:
            raise SigningDisabled("set MEDIAPLANE_THUMBNAILER_VARIANT_SECRET to sign specs")
        spec = parse_spec(data.spec, max_pixels=policy.max_pixels)
        signer: SpecSigner = policy.signer
        signature = signer.sign(spec)
        normal = spec.normalized()
        return SignedSpec(
            spec=normal, signature=signature, path=f"variants/{normal}?sig={signature}"
        )


ROUTES = [VariantController]
