"""Prize quotas per round for the winners list.

Revision ID: 9a1c3e5f7b20
Revises: 802c6f24f93d
Create Date: 2026-11-25 21:55:00

"""
from alembic import op
import sqlalchemy as sa
import json

from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '9a1c3e5f7b20'
down_revision = '802c6f24f93d'
branch_labels = None
depends_on = None

DEFAULT = '[{"label": "Giải Nhất", "count": 1}, {"label": "Giải Nhì", "count": 2}, ' \
          '{"label": "Giải Ba", "count": 3}, {"label": "Giải Khuyến khích", "count": 10}]'


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prize_quotas', json_type, nullable=True))
    rounds = sa.table('rounds', sa.column('prize_quotas', json_type))
    op.execute(rounds.update().values(prize_quotas=json.loads(DEFAULT)))
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.alter_column('prize_quotas', existing_type=json_type, nullable=False)


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('prize_quotas')
