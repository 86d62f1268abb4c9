from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version() -> str:
    for line in (HERE / "django_akamai" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("no __version__ in django_akamai/__init__.py")


# What the test suite needs (tox installs only this extra).
TEST_REQUIRES = [
    "pytest>=8",
    "pytest-django>=4.8",
    "hypothesis>=6.100",
    "fastpurge>=1.0.6",
    "redis>=4.5",
    "selenium>=4.11",
    "celery[redis]>=5.3",
    "tqdm>=4.60",
    # tests/test_quickstart.py builds a wheel offline (virtualenv seeds none on Python 3.12+).
    "setuptools>=77",
    # The pipeline's tests on MariaDB (AKAMAI_TEST_DATABASE=mariadb): a pure-Python driver
    # that Django's MySQL backend loads as MySQLdb (mysqlclient needs the client headers).
    "PyMySQL>=1.1",
]
# A contributor's tools: make lint (ruff, mypy with the stubs it needs), pre-commit, tox.
DEV_REQUIRES = [
    "ruff>=0.6",
    "mypy>=1.10",
    "django-stubs>=5.1",
    "celery-types>=0.22",
    "types-requests>=2.28",
    "types-PyMySQL>=1.1",
    "pre-commit>=3.5",
    "tox>=4.11",
]
# make docs.
DOCS_REQUIRES = [
    "sphinx>=7.2",
    "furo>=2024.1",
]
# The integrations: Wagtail (whose frontend cache needs django-tasks), and Django's Tasks
# framework with the database-backed queue and its db_worker, on SQLite and PostgreSQL.
INTEGRATION_TEST_REQUIRES = [
    "wagtail>=7.0",
    "django-tasks>=0.9",
    "django-tasks-db>=0.12",
    "psycopg[binary]>=3.1",
]

setup(
    name="django-akamai",
    version=read_version(),
    description="Purge Akamai's CDN (Fast Purge v3 and CCU v2) from Django: "
    "signals, Celery tasks, admin tools and a local emulator.",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    author="django-akamai contributors",
    license_expression="MIT",
    license_files=["LICENSE.txt"],
    url="https://github.com/django-akamai/django-akamai",
    packages=find_packages(include=["django_akamai", "django_akamai.*"]),
    # Templates (and static files, should there be any) are data of the django_akamai package,
    # not packages of their own.
    package_data={
        "django_akamai": ["templates/**/*", "static/**/*"],
        "django_akamai.contrib.wagtail": ["templates/**/*"],
    },
    python_requires=">=3.10",
    install_requires=[
        "Django>=5.2",
        "requests>=2.28",
        "edgegrid-python>=1.3",
    ],
    extras_require={
        "celery": ["celery>=5.3"],
        "progress": ["tqdm>=4.60"],
        # Django 6.0+ has django.tasks built in; on Django 5.2 this is its backport.
        "tasks": ["django-tasks>=0.9"],
        "wagtail": ["wagtail>=7.0"],
        # make demo (requirements-demo.txt): the example project's Celery app.
        "demo": ["celery>=5.3"],
        "test": TEST_REQUIRES + INTEGRATION_TEST_REQUIRES,
        "dev": DEV_REQUIRES,
        "docs": DOCS_REQUIRES,
    },
    classifiers=[
        "Development Status :: 5 - Production/Stable",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Framework :: Celery",
        "Framework :: Wagtail",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Internet :: WWW/HTTP",
    ],
)
