import { SessionsError, SessionsErrorCode } from '@launchpad/contracts';
import { planMounts } from './connector-mounts.js';

const row = (id: string, name: string, targetPath: string) => ({ id: `00000000-0000-4000-8000-00000000000${id}`, name, targetPath, sourcePath: '', readonly: true });
const survey = row('1', 'Survey', 'survey');
const scans = row('2', 'Scans', 'scans');
const notes = row('3', 'My notes', 'notes');
const mySurvey = row('4', 'My survey', 'survey');

const refusal = (fn: () => unknown): SessionsError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SessionsError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('which data connectors a session mounts', () => {
  it('mounts the project’s connectors and then the user’s own, each at its target', () => {
    expect(planMounts([survey, scans], [notes], []).map((m) => [m.owner, m.row.name, m.targetPath])).toEqual([
      ['project', 'Survey', 'survey'],
      ['project', 'Scans', 'scans'],
      ['user', 'My notes', 'notes'],
    ]);
  });

  it('refuses a project’s and the user’s own connector at one target, naming both', () => {
    const error = refusal(() => planMounts([survey], [mySurvey], []));
    expect(error.code).toBe(SessionsErrorCode.DATA_CONNECTOR_TARGET_CLASH);
    expect(error.message).toContain(`the project's data connector "Survey" (${survey.id})`);
    expect(error.message).toContain(`your own data connector "My survey" (${mySurvey.id})`);
    expect(error.message).toContain('/work/survey');
  });

  it('lets the launch skip or move the user’s own connector out of the way', () => {
    expect(planMounts([survey], [mySurvey], [{ dataConnectorId: mySurvey.id, skip: true }]).map((m) => m.row.name)).toEqual(['Survey']);
    const moved = planMounts([survey], [mySurvey], [{ dataConnectorId: mySurvey.id, targetPath: 'my-survey', readonly: false }]);
    expect(moved.map((m) => [m.row.name, m.targetPath, m.readonly])).toEqual([
      ['Survey', 'survey', true],
      ['My survey', 'my-survey', false],
    ]);
    // Moving the project's one instead works as well.
    expect(planMounts([survey], [mySurvey], [{ dataConnectorId: survey.id, skip: true }]).map((m) => m.row.name)).toEqual(['My survey']);
  });

  it('refuses an override that moves one connector onto another', () => {
    expect(refusal(() => planMounts([survey, scans], [], [{ dataConnectorId: scans.id, targetPath: 'survey' }])).code).toBe(SessionsErrorCode.DATA_CONNECTOR_TARGET_CLASH);
  });

  it('refuses an override naming no connector of the project nor of the user', () => {
    const error = refusal(() => planMounts([survey], [notes], [{ dataConnectorId: '00000000-0000-4000-8000-000000000009', skip: true }]));
    expect(error.code).toBe(SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND);
  });
});
