from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version() -> str:
    for line in (HERE / "django_akamai" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("no __version__ in django_akamai/__init__.py")


TEST_REQUIRES = [
    "pytest>=8",
    "pytest-django>=4.8",
    "hypothesis>=6.100",
    "fastpurge>=1.0.6",
    "redis>=4.5",
    "ruff>=0.6",
    "tox>=4.11",
    "selenium>=4.11",
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
    license="MIT",
    url="https://github.com/django-akamai/django-akamai",
    packages=find_packages(include=["django_akamai", "django_akamai.*"]),
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=[
        "Django>=5.2",
        "requests>=2.28",
        "edgegrid-python>=1.3",
    ],
    extras_require={
        "celery": ["celery>=5.3"],
        "progress": ["tqdm>=4.60"],
        "test": TEST_REQUIRES + ["celery[redis]>=5.3", "tqdm>=4.60"],
    },
    classifiers=[
        "Development Status :: 5 - Production/Stable",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Framework :: Celery",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: MIT License",
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
