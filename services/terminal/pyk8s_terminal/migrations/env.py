from pyk8s_terminal.models import Base
from pyk8s_kit.migrations import run_env

run_env(Base.metadata)
