"""Question statistics per round (facility, discrimination, flags) and when they were computed.

Revision ID: 3f8a61c2d9e4
Revises: 5d2e8b1c4f67
Create Date: 2026-12-03 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
import quiz_engine.models.base


# revision identifiers, used by Alembic.
revision = '3f8a61c2d9e4'
down_revision = '5d2e8b1c4f67'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'round_statistics',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('basis', sa.String(length=200), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('computed_at', quiz_engine.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('round_id'),
    )
    op.create_table(
        'question_statistics',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('seen', sa.Integer(), nullable=False),
        sa.Column('correct', sa.Integer(), nullable=False),
        sa.Column('blank', sa.Integer(), nullable=False),
        sa.Column('point_biserial', sa.Float(), nullable=True),
        sa.Column('discrimination', sa.Float(), nullable=True),
        sa.Column('flags', quiz_engine.models.base.JSONType, nullable=False),
        sa.Column('figures', quiz_engine.models.base.JSONType, nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('round_id', 'question_id'),
    )
    with op.batch_alter_table('question_statistics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_statistics_question_id'), ['question_id'], unique=False)


def downgrade():
    with op.batch_alter_table('question_statistics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_statistics_question_id'))
    op.drop_table('question_statistics')
    op.drop_table('round_statistics')
