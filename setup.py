from setuptools import find_packages, setup

setup(
    package_dir={"backoffice": "src"},
    packages=["backoffice", *(f"backoffice.{name}" for name in find_packages("src"))],
    package_data={
        "backoffice.cli": ["examples/*/*", "examples/*/.*"],
        "backoffice.adapters": ["templates/*"],
        "backoffice.handlers": ["templates/*"],
    },
    include_package_data=True,
)
