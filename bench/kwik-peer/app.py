"""
Python Kwik peer of `cargo xtask bench --peer kwik` (see docs/benchmarks.md).

A minimal application on the real Kwik package (PyPI, pinned in requirements.txt) serving the
routes of workloads W1-W5 with Kwik's own machinery: the built-in login and users/me, and a
`projects` resource like the example server's, on AutoCRUD, AuthenticatedRouter, has_permission,
ListQuery and Paginated. Nothing here writes SQL for a request.

    python app.py seed --projects 10000   # create Kwik's schema, the admin and the projects
    python app.py serve                   # kwik.run(): gunicorn + KwikUvicornWorker in production

Configuration is Kwik's own, from `KWIK_*` environment variables (the bench sets
KWIK_SQLALCHEMY_DATABASE_URI, KWIK_SECRET_KEY, KWIK_APP_ENV=production, KWIK_BACKEND_WORKERS,
KWIK_BACKEND_HOST, KWIK_BACKEND_PORT and KWIK_LOG_LEVEL).
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from kwik import Kwik, api_router, run
from kwik.core.enum import Permissions
from kwik.crud import AutoCRUD, Context, UserCtx, crud_permissions, crud_roles, crud_users
from kwik.database import create_engine, create_session, session_scope
from kwik.dependencies import ListQuery, UserContext, has_permission
from kwik.models import Base, RecordInfoMixin
from kwik.routers import AuthenticatedRouter
from kwik.schemas import Paginated, PermissionDefinition, RoleDefinition, UserRegistration
from kwik.schemas import RecordInfoMixin as RecordInfoSchema
from kwik.schemas.mixins import AtLeastOneFieldMixin
from kwik.settings import BaseKwikSettings

# The example server's project permissions (apps/server/src/projects.rs).
PROJECT_PERMISSIONS = ("project_create", "project_read", "project_update", "project_delete")


class Project(Base, RecordInfoMixin):
    """A project, as in the example server: unique name, optional description, archived flag."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(String, nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class ProjectProfile(RecordInfoSchema):
    """The project as returned: id and Kwik's record-info fields, plus its own."""

    name: str
    description: str | None = None
    archived: bool


class ProjectCreate(BaseModel):
    """Input of `POST /projects/` (the example server's limits)."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class ProjectUpdate(AtLeastOneFieldMixin):
    """Input of an update (not routed: AutoCRUD's generic parameters need it)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class ProjectCRUD(AutoCRUD[UserCtx, Project, ProjectCreate, ProjectUpdate, int]):
    """Kwik's AutoCRUD; sortable/filterable fields as in the example server."""

    list_allowed_fields = {"id", "name", "description", "archived", "creation_time"}  # noqa: RUF012


crud_projects = ProjectCRUD()

projects_router = AuthenticatedRouter(prefix="/projects")


@projects_router.get(
    "/",
    response_model=Paginated[ProjectProfile],
    dependencies=(has_permission("project_read"),),
)
def read_projects(q: ListQuery, context: UserContext) -> dict:
    """W3: a page of projects (`?skip=&limit=&sorting=`)."""
    total, data = crud_projects.get_multi(context=context, **q)
    return {"total": total, "data": data}


@projects_router.get(
    "/{project_id}",
    response_model=ProjectProfile,
    dependencies=(has_permission("project_read"),),
)
def read_project(project_id: int, context: UserContext) -> Project:
    """W4: one project by id (404 when unknown)."""
    return crud_projects.get_if_exist(entity_id=project_id, context=context)


@projects_router.post(
    "/",
    response_model=ProjectProfile,
    dependencies=(has_permission("project_create"),),
)
def create_project(project_in: ProjectCreate, context: UserContext) -> Project:
    """W5: create a project (the creator is recorded by AutoCRUD)."""
    return crud_projects.create(obj_in=project_in, context=context)


api_router.include_router(projects_router)
settings = BaseKwikSettings()
app = Kwik(settings=settings, api_router=api_router)

# The example server's seed (apps/server/src/seed.rs): 3,000 demo projects ...
DEMO_PROJECTS = text(
    "INSERT INTO projects (name, description, archived, creation_time, last_modification_time, creator_user_id) "
    "SELECT 'Demo project ' || lpad(g::text, 4, '0') || ' ' || "
    "(ARRAY['Apollo','Borealis','Cobalt','Delta','Ember','Fjord','Granite','Helix','Iris','Juniper'])[g % 10 + 1], "
    "'Seeded demo project number ' || g, g % 7 = 0, "
    "date_trunc('milliseconds', localtimestamp), date_trunc('milliseconds', localtimestamp), :creator "
    "FROM generate_series(1, :count) AS g"
)
# ... then the bench's top-up to the requested count (bench/baseline, `seed`).
BENCH_PROJECTS = text(
    "INSERT INTO projects (name, description, archived, creation_time, last_modification_time, creator_user_id) "
    "SELECT 'Bench project ' || lpad(g::text, 6, '0'), 'Seeded bench project number ' || g, g % 7 = 0, "
    "date_trunc('milliseconds', localtimestamp), date_trunc('milliseconds', localtimestamp), :creator "
    "FROM generate_series(1, :count) AS g"
)


def seed(projects: int) -> dict:
    """
    Create Kwik's schema in an empty database, the admin and the projects.

    The admin is Kwik's reference seed (the `kwik.testing.fixtures.admin_user` fixture): user
    FIRST_SUPERUSER / FIRST_SUPERUSER_PASSWORD, role `admin` holding every built-in permission,
    plus the project permissions. Projects are inserted with one statement each for the demo and
    the bench rows, like the bench seeds the example server.
    """
    engine = create_engine(settings)
    Base.metadata.create_all(bind=engine)
    with session_scope(session=create_session(engine=engine), commit=True) as session:
        no_user = Context(session=session, user=None)
        admin = crud_users.create(
            obj_in=UserRegistration.model_validate(
                {
                    "name": "admin",
                    "surname": "admin",
                    "email": settings.FIRST_SUPERUSER,
                    "password": settings.FIRST_SUPERUSER_PASSWORD,
                    "is_active": True,
                },
                context={"password_policy": False},
            ),
            context=no_user,
        )
        admin_context = Context(session=session, user=admin)
        role = crud_roles.create(obj_in=RoleDefinition(name="admin", is_active=True), context=admin_context)
        for name in [permission.value for permission in Permissions] + list(PROJECT_PERMISSIONS):
            permission = crud_permissions.create(obj_in=PermissionDefinition(name=name), context=admin_context)
            crud_roles.assign_permission(role=role, permission=permission, context=admin_context)
        crud_roles.assign_user(role=role, user=admin, context=admin_context)
        demo = min(projects, 3000)
        session.execute(DEMO_PROJECTS, {"count": demo, "creator": admin.id})
        session.execute(BENCH_PROJECTS, {"count": projects - demo, "creator": admin.id})
        admin_id = admin.id
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
        count, min_id, max_id = connection.execute(
            select(func.count(Project.id), func.min(Project.id), func.max(Project.id))
        ).one()
    engine.dispose()
    return {"projects": count, "min_id": min_id, "max_id": max_id, "admin_id": admin_id}


def main() -> None:
    """`seed --projects N` (prints one JSON line) or `serve`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seed_parser = commands.add_parser("seed", help="create the schema, the admin and the projects")
    seed_parser.add_argument("--projects", type=int, default=10_000)
    commands.add_parser("serve", help="serve with kwik.run() (gunicorn + KwikUvicornWorker when APP_ENV=production)")
    args = parser.parse_args()
    if args.command == "seed":
        print(json.dumps(seed(args.projects)))  # noqa: T201
    else:
        run(app)


if __name__ == "__main__":
    sys.exit(main())
