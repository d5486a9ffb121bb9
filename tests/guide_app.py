"""An app assembled like the guide's `src/main.py`: its ViewSets and views as written.

Imports aside (`from core import AsyncSession` for SQLAlchemy's), the classes below are the
guide's. Where the guide shows two versions of `PostViewSet`, the first (scoped queryset and
hooks) is registered at /articles and the second (with actions) at /posts.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from pydantic import EmailStr, field_validator

from core import (
    APIView,
    AsyncSession,
    AutoRouter,
    CoreApp,
    InputSchema,
    ModelViewSet,
    OutputSchema,
    action,
)
from core.auth import (
    create_access_token,
    create_refresh_token,
    login_required,
    revoke_token,
    verify_token,
)
from core.config import get_settings
from core.datetime import DateTime
from core.permissions import (
    AllowAny,
    HasPermission,
    IsAdmin,
    IsAuthenticated,
    IsInGroup,
    IsOwner,
    IsStaff,
    Permission,
)
from core.views import ReadOnlyModelViewSet
from core.views.errors import field_error, unique_message
from tests.example_models import Post, User

settings = get_settings()

# Schemas ---------------------------------------------------------------------------------


class PostInput(InputSchema):
    """Schema for creating/updating posts."""

    title: str
    slug: str
    content: str
    is_published: bool = False

    @field_validator("slug")
    @classmethod
    def validate_slug(cls, v: str) -> str:
        if " " in v:
            raise ValueError("Slug cannot contain spaces")
        return v.lower()


class PostOutput(OutputSchema):
    """Schema for post responses."""

    id: int
    title: str
    slug: str
    content: str
    is_published: bool
    views_count: int
    created_at: DateTime
    updated_at: DateTime | None


class UserRegisterInput(InputSchema):
    email: EmailStr
    password: str
    first_name: str = ""
    last_name: str = ""

    @field_validator("password")
    @classmethod
    def strong_password(cls, v: str) -> str:
        if len(v) < 8 or not any(c.isupper() for c in v) or not any(c.isdigit() for c in v):
            raise ValueError("Password must have 8+ characters, an uppercase letter and a digit")
        return v


class UserOutput(OutputSchema):
    id: int
    email: str
    first_name: str
    last_name: str
    is_active: bool


class LoginInput(InputSchema):
    email: str
    password: str


class TokenResponse(OutputSchema):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class RefreshTokenInput(InputSchema):
    refresh_token: str


class ChangePasswordInput(InputSchema):
    current_password: str
    new_password: str


# Posts -------------------------------------------------------------------------------------


class ArticleViewSet(ModelViewSet):
    """The guide's first PostViewSet: scoped queryset, unique slug, hooks."""

    model = Post
    input_schema = PostInput
    output_schema = PostOutput
    tags = ["Posts"]

    # Permissions per action
    permission_classes = [IsAuthenticated]
    permission_classes_by_action = {
        "list": [AllowAny],
        "retrieve": [AllowAny],
        "create": [IsAuthenticated],
        "update": [IsAuthenticated],
        "partial_update": [IsAuthenticated],
        "destroy": [IsAuthenticated],
    }

    # Unique field validation
    unique_fields = ["slug"]

    # Pagination
    page_size = 20
    max_page_size = 100

    def get_queryset(self, db):
        """Customize base queryset."""
        return Post.objects.using(db).filter(is_published=True)

    async def perform_create_validation(self, data: dict, db: AsyncSession) -> dict:
        """Hook before creating - transform data."""
        data["slug"] = data["title"].lower().replace(" ", "-")
        return data

    async def after_create(self, obj, db: AsyncSession) -> None:
        """Hook after creating - side effects."""
        if obj.title == "explode after create":
            raise RuntimeError("after_create failed")


class PostViewSet(ModelViewSet):
    """The guide's PostViewSet with @action routes, plus filtering for the tests."""

    model = Post
    input_schema = PostInput
    output_schema = PostOutput
    tags = ["Posts"]
    permission_classes = [IsAuthenticated]
    permission_classes_by_action = {
        "list": [AllowAny],
        "retrieve": [AllowAny],
        "update": [IsAuthenticated, IsOwner],
        "partial_update": [IsAuthenticated, IsOwner],
        "destroy": [IsAuthenticated, HasPermission("posts.delete")],
    }
    unique_fields = ["slug"]
    page_size = 5
    max_page_size = 10
    filterset_fields = {
        "is_published": ["exact"],
        "views_count": ["exact", "gte", "lte", "in", "range"],
        "slug": ["in"],
        "created_at": ["range"],
        "author__email": ["exact"],
    }
    max_filter_values = 5
    search_fields = ["title", "content"]
    ordering_fields = ["created_at", "views_count", "title", "id"]
    ordering = ["id"]

    @action(methods=["POST"], detail=True, permission_classes=[IsAuthenticated])
    async def publish(self, request: Request, db: AsyncSession, **kwargs):
        """
        POST /posts/{id}/publish/

        Publish a post.
        """
        post = await self.get_object(db, **kwargs)
        post.is_published = True
        await post.save(db)
        return {"message": f"Post '{post.title}' published", "is_published": True}

    @action(methods=["POST"], detail=True, permission_classes=[IsAuthenticated])
    async def unpublish(self, request: Request, db: AsyncSession, **kwargs):
        """
        POST /posts/{id}/unpublish/

        Unpublish a post.
        """
        post = await self.get_object(db, **kwargs)
        post.is_published = False
        await post.save(db)
        return {"message": f"Post '{post.title}' unpublished", "is_published": False}

    @action(methods=["GET"], detail=False, permission_classes=[AllowAny])
    async def featured(self, request: Request, db: AsyncSession, **kwargs):
        """
        GET /posts/featured/

        Get featured posts (high view count).
        """
        posts = (
            await Post.objects.using(db)
            .filter(
                is_published=True,
                views_count__gt=100,
            )
            .order_by("-views_count")
            .limit(5)
            .all()
        )

        return [PostOutput.model_validate(p).model_dump() for p in posts]

    @action(methods=["GET"], detail=True, permission_classes=[AllowAny])
    async def stats(self, request: Request, db: AsyncSession, **kwargs):
        """
        GET /posts/{id}/stats/

        Get post statistics.
        """
        post = await self.get_object(db, **kwargs)
        return {
            "id": post.id,
            "title": post.title,
            "views_count": post.views_count,
            "is_published": post.is_published,
            "created_at": post.created_at,
        }

    @action(
        methods=["POST"],
        detail=False,
        permission_classes=[IsAuthenticated],
        url_path="bulk-title",
        input_schema=ChangePasswordInput,
        output_schema=PostOutput,
        status_code=201,
    )
    async def bulk_title(self, request: Request, db: AsyncSession, data=None, **kwargs):
        """An action with declared schemas: documented like CRUD (input and output)."""
        return await Post.create(
            title=data.current_password,
            slug=data.new_password,
            content="",
            author_id=self.user.id,
            using_db=db,
        )


class PublicPostViewSet(ReadOnlyModelViewSet):
    """ViewSet for read-only access (list and retrieve only)."""

    model = Post
    output_schema = PostOutput
    permission_classes = [AllowAny]

    def get_queryset(self, db):
        return Post.objects.using(db).filter(is_published=True)


class IsVerifiedUser(Permission):
    """Allow only verified users (the guide's custom permission; verified = has a name)."""

    async def has_permission(self, request, view) -> bool:
        user = getattr(request.state, "user", None)
        if not user:
            return False
        return bool(getattr(user, "name", ""))

    async def has_object_permission(self, request, view, obj) -> bool:
        return await self.has_permission(request, view)


class GuardedPostViewSet(ReadOnlyModelViewSet):
    """Permission combinations: each action guarded differently."""

    model = Post
    output_schema = PostOutput
    permission_classes = [IsAuthenticated, IsVerifiedUser]
    permission_classes_by_action = {
        "list": [IsStaff | IsInGroup("editors")],
        "retrieve": [IsAuthenticated & ~IsAdmin],
    }

    @action(methods=["GET"], detail=False, permission_classes=[HasPermission("posts.audit")])
    async def audit(self, request: Request, db: AsyncSession, **kwargs):
        return {"audited": True}


# Authentication -----------------------------------------------------------------------------


class AuthViewSet(ModelViewSet):
    """The guide's AuthViewSet, plus logout."""

    model = User
    input_schema = UserRegisterInput
    output_schema = UserOutput
    tags = ["Authentication"]
    permission_classes = [AllowAny]

    # Disable default CRUD (we only use custom actions)
    async def list(self, *args, **kwargs):
        raise HTTPException(status_code=404, detail="Not found")

    async def retrieve(self, *args, **kwargs):
        raise HTTPException(status_code=404, detail="Not found")

    async def create(self, *args, **kwargs):
        raise HTTPException(status_code=404, detail="Not found")

    async def update(self, *args, **kwargs):
        raise HTTPException(status_code=404, detail="Not found")

    async def destroy(self, *args, **kwargs):
        raise HTTPException(status_code=404, detail="Not found")

    @action(methods=["POST"], detail=False, permission_classes=[AllowAny])
    async def register(self, request: Request, db: AsyncSession, **kwargs):
        body = await request.json()
        data = UserRegisterInput.model_validate(body)

        # Check if email exists
        existing = await User.get_by_email(data.email, db)
        if existing:
            raise field_error("email", unique_message("User", "email"), "unique")

        # Create user
        user = await User.create_user(
            email=data.email,
            password=data.password,
            db=db,
            first_name=data.first_name,
            last_name=data.last_name,
        )

        return UserOutput.model_validate(user).model_dump()

    @action(methods=["POST"], detail=False, permission_classes=[AllowAny])
    async def login(self, request: Request, db: AsyncSession, **kwargs):
        body = await request.json()
        data = LoginInput.model_validate(body)

        # Authenticate
        user = await User.authenticate(data.email, data.password, db)
        if not user:
            raise HTTPException(status_code=401, detail="Invalid email or password")

        # Generate tokens
        access_token = create_access_token({"sub": str(user.id), "email": user.email})
        refresh_token = create_refresh_token({"sub": str(user.id)})

        return TokenResponse(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=settings.auth_access_token_expire_minutes * 60,
        ).model_dump()

    @action(methods=["POST"], detail=False, permission_classes=[AllowAny])
    async def refresh(self, request: Request, db: AsyncSession, **kwargs):
        body = await request.json()
        data = RefreshTokenInput.model_validate(body)

        # Verify refresh token
        payload = verify_token(data.refresh_token, token_type="refresh")
        if not payload:
            raise HTTPException(status_code=401, detail="Invalid or expired refresh token")

        # Generate new tokens
        access_token = create_access_token({"sub": payload["sub"]})
        refresh_token = create_refresh_token({"sub": payload["sub"]})

        return TokenResponse(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=settings.auth_access_token_expire_minutes * 60,
        ).model_dump()

    @action(methods=["GET"], detail=False, permission_classes=[IsAuthenticated])
    async def me(self, request: Request, db: AsyncSession, **kwargs):
        user = await login_required(request, db)
        return UserOutput.model_validate(user).model_dump()

    @action(methods=["POST"], detail=False, permission_classes=[IsAuthenticated])
    async def password(self, request: Request, db: AsyncSession, **kwargs):
        body = await request.json()
        data = ChangePasswordInput.model_validate(body)

        # Get current user
        user = await login_required(request, db)

        # Verify current password
        if not user.check_password(data.current_password):
            raise HTTPException(status_code=400, detail="Current password is incorrect")

        # Update password
        user.set_password(data.new_password)
        await user.save(db)

        return {"message": "Password changed successfully"}

    @action(methods=["POST"], detail=False, permission_classes=[IsAuthenticated])
    async def logout(self, request: Request, db: AsyncSession, **kwargs):
        """Revoke the access token of this request (and a refresh token sent in the body)."""
        token = request.headers["authorization"].split(" ", 1)[1]
        await revoke_token(token, db)
        body = await request.body()
        if body:
            refresh = RefreshTokenInput.model_validate_json(body)
            await revoke_token(refresh.refresh_token, db)
        return {"message": "Logged out"}


# System views --------------------------------------------------------------------------------


class HealthView(APIView):
    """Health check endpoint."""

    permission_classes = [AllowAny]
    tags = ["System"]

    async def get(self, request, **kwargs):
        """GET /health - Health check."""
        return {
            "status": "healthy",
            "version": "1.0.0",
        }


class DashboardView(APIView):
    """Admin dashboard endpoint."""

    permission_classes = [IsAuthenticated]
    tags = ["Admin"]

    async def get(self, request, db, **kwargs):
        """GET /dashboard - Get dashboard stats."""
        user = request.state.user
        return {
            "user": user.email,
            "posts_count": await Post.objects.using(db).count(),
            "users_count": await User.objects.using(db).count(),
        }


def create_app(database_url: str | None = None) -> CoreApp:
    posts_router = AutoRouter(prefix="/posts", tags=["Posts"])
    posts_router.register("", PostViewSet, basename="post")
    articles_router = AutoRouter(prefix="/articles")
    articles_router.register("", ArticleViewSet, basename="article")
    public_router = AutoRouter(prefix="/public-posts")
    public_router.register("", PublicPostViewSet, basename="public-post")
    guarded_router = AutoRouter(prefix="/guarded")
    guarded_router.register("", GuardedPostViewSet, basename="guarded")
    auth_router = AutoRouter(prefix="/auth", tags=["Authentication"])
    auth_router.register("", AuthViewSet, basename="auth")

    api_router = AutoRouter(prefix="/api/v1")
    for router in (posts_router, articles_router, public_router, guarded_router, auth_router):
        api_router.include_router(router)

    app = CoreApp(
        title="Guide API",
        description="API built with Core Framework",
        version="1.0.0",
        routers=[api_router],
        database_url=database_url,
        models=["tests.example_models"],
    )
    app.add_api_route(
        "/health", HealthView.as_route("/health")[1], methods=["GET"], tags=["System"]
    )
    app.add_api_route(
        "/dashboard", DashboardView.as_route("/dashboard")[1], methods=["GET"], tags=["Admin"]
    )
    return app
